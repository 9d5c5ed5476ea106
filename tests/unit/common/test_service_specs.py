"""The declarations agree with the contract: every command a service declares arrives on the
topic the contract routes it to, every type it may emit is the contract's, and the settings a
ServiceSpec names are settings."""

from __future__ import annotations

import pytest

from schemas.registry import MODELS, TOPIC_TYPES
from services.common.runtime.seam import CommandTable
from services.common.settings import Settings
from services.ops.services import SERVICES
from services.payment_svc.handlers import TABLE as PAYMENT
from services.pickup_svc.handlers import TABLE as PICKUP

TABLES: dict[str, CommandTable[object]] = {"payment": PAYMENT, "pickup": PICKUP}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_command_is_declared_on_the_topic_the_contract_routes_it_to(name: str) -> None:
    table = TABLES[name]
    for spec in table.specs.values():
        assert spec.type in TOPIC_TYPES[spec.topic], spec.type
        assert MODELS[spec.type] is spec.wire
        assert spec.emits and spec.emits <= set(MODELS), spec.type
    service = next(s for s in SERVICES if s.name == name)
    assert service.reads == table.topics
    # What a service emits goes to a topic it declares it writes.
    written = {t for topic in service.writes for t in TOPIC_TYPES[topic]}
    assert table.emitted <= written


def test_every_command_type_of_a_service_topic_is_declared() -> None:
    for name, table in TABLES.items():
        service = next(s for s in SERVICES if s.name == name)
        on_topics = {t for topic in service.reads for t in TOPIC_TYPES[topic]}
        assert on_topics == set(table.specs), name


def test_the_settings_a_service_names_are_settings() -> None:
    for service in SERVICES:
        assert set(service.settings) <= set(Settings.model_fields), service.name
    assert len({s.group_id for s in SERVICES}) == len(SERVICES)
