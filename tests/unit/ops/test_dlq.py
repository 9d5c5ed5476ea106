"""Dead letters as an operator reads them, and which ones a redrive sends and remembers."""

from __future__ import annotations

import json

from services.common.runtime.dlq import DeadLetter
from services.common.runtime.records import Record
from services.ops.dlq import DeadLetterView, select_for_redrive

GOOD = json.dumps({"id": "cmd-9", "type": "payment.cancel", "data": {"amount": 1.5}}).encode()


def letter(dlq_offset: int, *, partition: int = 0, value: bytes | None = GOOD) -> DeadLetterView:
    """A DLQ record exactly as the runtime writes it (its headers from ``DeadLetter``)."""
    source = DeadLetter(
        topic="payment.commands",
        partition=3,
        offset=40 + dlq_offset,
        timestamp_ms=1_700_000_000_000,
        key=b"t1:CP-1",
        value=value,
        headers=(("content-type", b"application/cloudevents+json"), ("traceparent", b"00-ab")),
        error="schema",
        detail="data.amount: money must be a string",
        service="payment",
    )
    record = Record(
        "payment.commands.dlq",
        partition,
        dlq_offset,
        source.key,
        source.value,
        tuple(source.dlq_headers()),
        1_700_000_100_000,
    )
    return DeadLetterView(record)


def test_summary_names_the_error_the_service_and_the_original_place() -> None:
    summary = letter(5).summary()
    assert summary == {
        "topic": "payment.commands.dlq",
        "partition": 0,
        "offset": 5,
        "time": "2023-11-14T22:15:00Z",
        "error": "schema",
        "service": "payment",
        "original_topic": "payment.commands",
        "original_partition": 3,
        "original_offset": 45,
        "message_id": "cmd-9",
        "message_type": "payment.cancel",
    }


def test_detail_has_the_body_as_json_and_every_header() -> None:
    detail = letter(0).detail()
    assert detail["body"]["data"] == {"amount": 1.5}
    assert detail["error_detail"] == "data.amount: money must be a string"
    assert ["traceparent", "00-ab"] in detail["headers"]


def test_undecodable_values_still_show() -> None:
    view = letter(0, value=b"\xff\x00not json")
    assert view.message_attrs() == (None, None)
    assert str(view.detail()["body"]).startswith("base64:")


def test_a_redrive_sends_back_only_the_original_headers_and_key() -> None:
    view = letter(0)
    assert view.original_headers() == [
        ("content-type", b"application/cloudevents+json"),
        ("traceparent", b"00-ab"),
    ]
    assert view.original_key() == b"t1:CP-1"


def test_redrive_all_skips_what_was_redriven_and_remembers_the_rest() -> None:
    letters = [letter(o) for o in range(4)] + [letter(0, partition=1)]
    selection = select_for_redrive(
        letters, {("payment.commands.dlq", 0): 2, ("payment.commands.dlq", 1): None}
    )
    assert [(v.record.partition, v.record.offset) for v in selection.chosen] == [
        (0, 2), (0, 3), (1, 0),
    ]  # fmt: skip
    assert selection.commit == {("payment.commands.dlq", 0): 4, ("payment.commands.dlq", 1): 1}


def test_redrive_all_after_redrive_all_selects_nothing() -> None:
    letters = [letter(o) for o in range(3)]
    first = select_for_redrive(letters, {})
    second = select_for_redrive(letters, first.commit)
    assert len(first.chosen) == 3
    assert second.chosen == []


def test_one_letter_ahead_of_the_remembered_position_is_sent_but_not_remembered() -> None:
    letters = [letter(o) for o in range(3)]
    ahead = select_for_redrive(letters, {}, only=(0, 2))
    assert [v.record.offset for v in ahead.chosen] == [2]
    assert ahead.commit == {}
    assert "will send 2 again" in ahead.notes[0]
    next_one = select_for_redrive(letters, {("payment.commands.dlq", 0): 1}, only=(0, 1))
    assert next_one.commit == {("payment.commands.dlq", 0): 2}
