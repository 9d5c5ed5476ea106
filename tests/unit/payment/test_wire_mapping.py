"""The domain-event → wire mapping is explicit: a renamed field on either side fails here."""

from __future__ import annotations

import dataclasses
from typing import get_args

import pytest

from schemas import payment as wire
from services.payment_svc.domain import events as domain
from services.payment_svc.wire import DOMAIN_ONLY, FROM_DECISION, IDENTITY

# Every event of the domain's ``Event`` union: a new one is checked without being listed here.
EVENTS: list[type] = list(get_args(domain.Event))


def test_every_event_of_the_contract_has_its_domain_event() -> None:
    assert {e.type for e in EVENTS} == set(wire.EVENTS) == set(DOMAIN_ONLY)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_each_domain_field_is_on_the_wire_or_declared_the_domains_own(event: type) -> None:
    fields = {f.name for f in dataclasses.fields(event)}
    on_wire = set(wire.EVENTS[event.type].model_fields)
    assert fields - on_wire == DOMAIN_ONLY[event.type]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_each_wire_field_comes_from_the_event_the_aggregate_or_the_decision(event: type) -> None:
    fields = {f.name for f in dataclasses.fields(event)}
    on_wire = set(wire.EVENTS[event.type].model_fields)
    assert on_wire - fields <= IDENTITY | FROM_DECISION
