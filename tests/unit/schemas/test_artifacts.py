"""The committed artifacts: example messages, JSON Schemas and the AsyncAPI document."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from examples.write import write as write_examples
from schemas import COMMAND_TYPES, EVENT_TYPES, decode, encode, topics
from schemas.examples import EXAMPLES_DIR, example_paths, load_scenario, scenarios
from schemas.export import export
from schemas.registry import TOPIC_TYPES
from schemas.tracing import trace_id

GENERATED = Path(__file__).parents[3] / "schemas" / "generated"


def _files(root: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))}


def test_generated_schemas_are_up_to_date(tmp_path: Path) -> None:
    export(tmp_path)
    fresh = _files(tmp_path, "*")
    stale = [
        name
        for name in fresh.keys() | _files(GENERATED, "*").keys()
        if fresh.get(name) != _files(GENERATED, "*").get(name)
    ]
    assert not stale, (
        f"schemas/generated is stale ({stale}); run: lunas schemas export --out schemas/generated"
    )


def test_committed_examples_are_up_to_date(tmp_path: Path) -> None:
    write_examples(tmp_path)
    assert _files(tmp_path, "*/*.json") == _files(EXAMPLES_DIR, "*/*.json"), (
        "schemas/examples is stale; run: python -m schemas.examples.build"
    )


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_example_decodes_round_trips_and_matches_its_json_schema(path: Path) -> None:
    env = decode(path.read_bytes())
    assert decode(encode(env)) == env
    schema = json.loads((GENERATED / f"{env.type}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(json.loads(path.read_text()))
    validator.validate(json.loads(encode(env)))


def test_json_schemas_refuse_float_money_and_a_missing_tenant() -> None:
    schema = json.loads((GENERATED / "payment.record.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    example = json.loads(next(EXAMPLES_DIR.glob("giro_resolve/*_payment.record.json")).read_text())
    assert validator.is_valid(example)
    floated = {**example, "data": {**example["data"], "amount": 30878568.81}}
    assert not validator.is_valid(floated)
    untenanted = {k: v for k, v in example.items() if k != "tenantid"}
    assert not validator.is_valid(untenanted)
    extra = {**example, "data": {**example["data"], "discount": "1.00"}}
    assert not validator.is_valid(extra)


def test_every_schema_is_a_valid_json_schema() -> None:
    for path in GENERATED.glob("*.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_asyncapi_names_every_topic_its_dlq_key_and_messages() -> None:
    doc: dict[str, Any] = yaml.safe_load((GENERATED / "asyncapi.yaml").read_text())
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"]: c for c in doc["channels"].values()}
    expected = set(topics.ALL_TOPICS) | {topics.dlq_topic(t) for t in topics.ALL_TOPICS}
    assert set(addresses) == expected
    for topic, types_ in TOPIC_TYPES.items():
        refs = {m["$ref"].rsplit("/", 1)[1] for m in addresses[topic]["messages"].values()}
        assert refs == set(types_)
    messages = doc["components"]["messages"]
    assert set(messages) == COMMAND_TYPES | EVENT_TYPES | {"dead_letter"}
    assert "<tenantid>:<subject>" in doc["components"]["schemas"]["MessageKey"]["description"]


def test_every_type_travels_on_some_topic() -> None:
    carried = {t for types_ in TOPIC_TYPES.values() for t in types_}
    assert carried == COMMAND_TYPES | EVENT_TYPES


def test_the_giro_scenario_tells_the_seed_story() -> None:
    messages = load_scenario("giro_resolve")
    resolved = next(m for m in messages if m.type == "payment.resolved").data_dict()
    assert resolved["payment_no"] == "PR-230800811"
    assert resolved["customer_id"] == "CUST-1188"
    assert Decimal(resolved["amount"]) == Decimal("30878568.81")
    assert resolved["resolved_date"] == "2023-08-22"
    assert resolved["status"] == "completed"
    recorded = next(m for m in messages if m.type == "payment.recorded").data_dict()
    assert (recorded["status"], recorded["payment_date"]) == ("active", "2023-08-21")


def test_scenarios_cover_the_seed_workflows() -> None:
    assert set(scenarios()) == {
        "giro_resolve",
        "payment_cancel",
        "sfa_pending",
        "pickup_cancel_approve",
        "pickup_cancel_reject",
        "payment_allocate",
        "pickup_picked_up",
        "pickup_cancel_escalate",
        "pickup_cancel_auto_void",
        "giro_bounce",
        "payment_cancel_approval",
        "payment_cancel_rejection",
        "payment_waiting",
    }
    approve = [m.type for m in load_scenario("pickup_cancel_approve", commands_only=True)]
    assert approve == [
        "invoice.issue",
        "payment.record",
        "pickup.arrange",
        "pickup.cancel.requested",
        "pickup.cancel.decide",
        "invoice.void",
        "payment.release",
        "pickup.arrange",
    ]
    cancelled = load_scenario("payment_cancel")
    statuses = [m.data_dict().get("status") for m in cancelled if m.type.startswith("payment.")]
    assert "completed" in statuses and "cancelled" in statuses


def test_the_deadline_and_void_failure_messages_have_examples() -> None:
    seen = {path.stem.split("_", 1)[1] for path in example_paths()}
    assert seen >= {
        "pickup.cancel.reminder",
        "pickup.cancel.escalated",
        "pickup.void.failed",
        "pickup.void.retry",
        "pickup.void.mark",
    }
    auto = [m for m in load_scenario("pickup_cancel_auto_void") if m.type == "pickup.void.failed"]
    assert [m.data_dict()["attempts"] for m in auto] == [1, 2]
    decided = next(
        m for m in load_scenario("pickup_cancel_auto_void") if m.type == "pickup.cancel.decided"
    ).data_dict()
    assert decided["decided_by"] == "system:pickup-sla" and decided["voided_by"] == "admin:rina"


def test_the_waiting_example_carries_its_senders_trace_to_everything_it_caused() -> None:
    messages = load_scenario("payment_waiting")
    record = messages[0]
    assert record.type == "payment.record" and record.traceparent
    caused = [m for m in messages if m.correlationid == record.id]
    assert {m.type for m in caused} >= {"command.waiting", "notification.created"}
    assert {trace_id(m.traceparent) for m in caused} == {trace_id(record.traceparent)}
    stages = [m.data_dict()["stage"] for m in messages if m.type == "command.waiting"]
    assert stages == ["parked", "halfway"]
