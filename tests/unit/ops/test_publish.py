"""``lunas publish`` before sending: what is read, what is refused and why, where each goes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import decode, topics
from services.ops.publish import InputError, check, from_flags, parse_documents, topic_for

EXAMPLES = Path(__file__).parents[3] / "schemas" / "examples"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    """`scenario/NN_<type>.json`, found by scenario and type: numbers change as examples grow."""
    scenario, file_name = name.split("/")
    path = sorted((EXAMPLES / scenario).glob(f"*_{file_name.split('_', 1)[1]}"))[0]
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_every_command_example_is_routed_to_the_topic_that_carries_its_type() -> None:
    expected = {
        "payment_cancel/02_payment.record.json": topics.PAYMENT_COMMANDS,
        "payment_cancel/04_payment.cancel.json": topics.PAYMENT_COMMANDS,
        "giro_resolve/01_invoice.issue.json": topics.PAYMENT_COMMANDS,
        "pickup_cancel_approve/03_pickup.arrange.json": topics.PICKUP_COMMANDS,
        "pickup_cancel_approve/05_pickup.cancel.requested.json": topics.PICKUP_CANCEL_REQUESTED,
        "pickup_cancel_approve/08_pickup.cancel.decide.json": topics.PICKUP_COMMANDS,
        "pickup_cancel_approve/10_invoice.void.json": topics.PAYMENT_COMMANDS,
    }
    checked = check([(i, example(name)) for i, name in enumerate(expected, start=1)])
    assert checked.refused == []
    assert [o.topic for o in checked.outgoing] == list(expected.values())


def test_sent_bytes_decode_to_the_same_command_with_the_contract_key() -> None:
    cmd = example("payment_cancel/04_payment.cancel.json")
    (out,) = check([(1, cmd)]).outgoing
    assert out.key == b"dist-simplidots-01:CP-250100041"
    env = decode(out.value, out.headers())
    assert (env.id, env.type, env.data_dict()["reason_code"]) == (
        cmd["id"],
        cmd["type"],
        "input_error",
    )
    assert ("content-type", b"application/cloudevents+json") in out.headers()


def test_an_invalid_command_is_refused_naming_its_fields() -> None:
    bad = example("payment_cancel/02_payment.record.json")
    bad["data"]["amount"] = "12.345"
    del bad["actor"]
    (refused,) = check([(7, bad)]).refused
    assert refused.index == 7
    assert refused.id == "bo-record-CP-250100041"
    locs = {loc for loc, _ in refused.errors}
    assert "data.amount" in locs
    assert "actor" in locs


def test_subject_must_match_the_aggregate_id() -> None:
    bad = example("payment_cancel/04_payment.cancel.json")
    bad["subject"] = "CP-OTHER"
    (refused,) = check([(1, bad)]).refused
    assert refused.reason == "subject_mismatch"
    assert refused.errors[0][0] == "subject"


def test_events_are_not_published_by_hand() -> None:
    event = example("payment_cancel/05_payment.cancelled.json")
    checked = check([(1, event)])
    assert checked.outgoing == []
    assert checked.refused[0].reason == "not_a_command"


def test_one_id_twice_in_one_input_is_refused_the_second_time() -> None:
    cmd = example("payment_cancel/04_payment.cancel.json")
    checked = check([(1, cmd), (2, cmd)])
    assert [o.index for o in checked.outgoing] == [1]
    assert [(r.index, r.reason) for r in checked.refused] == [(2, "duplicate_id")]


def test_jsonl_numbers_items_by_line_and_keeps_bad_lines_as_refusals() -> None:
    cmd = example("payment_cancel/04_payment.cancel.json")
    text = json.dumps(cmd) + "\n\n{not json\n" + json.dumps({**cmd, "id": "other"}) + "\n"
    items = parse_documents(text)
    assert [n for n, _ in items] == [1, 3, 4]
    checked = check(items)
    assert [o.index for o in checked.outgoing] == [1, 4]
    assert [(r.index, r.reason) for r in checked.refused] == [(3, "not_json")]


def test_a_json_array_and_a_single_pretty_object_are_read() -> None:
    cmd = example("payment_cancel/04_payment.cancel.json")
    assert [n for n, _ in parse_documents(json.dumps([cmd, cmd], indent=2))] == [1, 2]
    assert parse_documents(json.dumps(cmd, indent=2)) == [(1, cmd)]


@pytest.mark.parametrize("text", ["", "   \n", "[1, 2"])
def test_unreadable_input_is_an_error(text: str) -> None:
    with pytest.raises(InputError):
        parse_documents(text)


def test_flags_build_a_valid_command() -> None:
    cmd = from_flags(
        type="payment.confirm",
        subject="PR-230800811",
        tenant="dist-1",
        actor="admin:budi",
        data='{"payment_no": "PR-230800811"}',
        id="ops-1",
        source="/ops/cli",
        time=WHEN,
    )
    (out,) = check([(1, cmd)]).outgoing
    assert (out.topic, out.key, out.id) == (
        topics.PAYMENT_COMMANDS,
        b"dist-1:PR-230800811",
        "ops-1",
    )


@pytest.mark.parametrize("data", ["{payment_no: P}", '["P"]'], ids=["not JSON", "not an object"])
def test_flag_data_that_is_not_a_json_object_is_an_input_error(data: str) -> None:
    with pytest.raises(InputError, match="--data is not a JSON object"):
        from_flags(
            type="payment.confirm", subject="P", tenant="t", actor="admin:a",
            data=data, id="x", source="/ops/cli", time=WHEN,
        )  # fmt: skip


def test_an_invalid_flag_command_is_refused_naming_its_fields() -> None:
    cmd = from_flags(
        type="payment.confirm", subject="P-1", tenant="t", actor="someone",
        data='{"payment_no": "P-2"}', id="ops-2", source="/ops/cli", time=WHEN,
    )  # fmt: skip
    (refused,) = check([(1, cmd)]).refused
    assert (refused.id, refused.type, refused.reason) == ("ops-2", "payment.confirm", "schema")
    assert [loc for loc, _ in refused.errors] == ["actor"]


def test_a_lone_surrogate_is_refused_not_a_crash() -> None:
    cmd = example("payment_cancel/04_payment.cancel.json")
    cmd["data"]["reason"] = "salah \ud800 input"
    (refused,) = check(parse_documents(json.dumps(cmd, ensure_ascii=False))).refused
    assert refused.reason == "invalid_text"


def test_only_commands_have_a_topic() -> None:
    assert topic_for("pickup.status") == topics.PICKUP_COMMANDS
    assert topic_for("payment.cancelled") is None
    assert topic_for("no.such") is None
