"""``lunas dlq`` against a real broker: list and show letters, redrive them once."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from schemas import topics
from services.common.runtime.dlq import DeadLetter
from services.common.settings import Settings
from tests.integration.ops.helpers import create_topics, lunas, lunas_json, read_all

pytestmark = pytest.mark.integration
DLQ = topics.dlq_topic(topics.PAYMENT_COMMANDS)


def park(bootstrap: str, offsets_and_values: list[tuple[int, bytes]]) -> None:
    """Dead letters exactly as the runtime's consumer writes them, on DLQ partition 0."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for offset, value in offsets_and_values:
        letter = DeadLetter(
            topic=topics.PAYMENT_COMMANDS,
            partition=2,
            offset=offset,
            timestamp_ms=1_700_000_000_000,
            key=f"t1:CP-{offset}".encode(),
            value=value,
            headers=(("content-type", b"application/cloudevents+json"), ("trace", b"x")),
            error="handler_error",
            detail="KeyError: 'giro'",
            service="payment",
        )
        producer.produce(
            letter.dlq_topic,
            value=letter.value,
            key=letter.key,
            headers=letter.dlq_headers(),
            partition=0,
        )
    assert producer.flush(30) == 0


def command(n: int) -> bytes:
    return json.dumps({"id": f"cmd-{n}", "type": "payment.confirm", "data": {}}).encode()


def test_list_and_show_say_what_failed_where(test_settings: Settings) -> None:
    create_topics(test_settings)
    bootstrap = test_settings.kafka_bootstrap_servers
    assert bootstrap
    park(bootstrap, [(41, command(1)), (42, b"\x00garbage")])

    letters = lunas_json(test_settings, "dlq", "list")

    assert [(x["offset"], x["original_offset"], x["message_id"]) for x in letters] == [
        (0, 41, "cmd-1"),
        (1, 42, None),
    ]
    assert {(x["topic"], x["error"], x["service"], x["original_topic"]) for x in letters} == {
        (DLQ, "handler_error", "payment", topics.PAYMENT_COMMANDS)
    }
    only_pickup = lunas_json(test_settings, "dlq", "list", "--topic", topics.PICKUP_COMMANDS)
    assert only_pickup == []

    shown = lunas_json(test_settings, "dlq", "show", DLQ, "0", "0")
    assert shown["body"]["id"] == "cmd-1"
    assert shown["error_detail"] == "KeyError: 'giro'"
    assert ["lunas.original.partition", "2"] in shown["headers"]
    readable = lunas(test_settings, "dlq", "show", DLQ, "0", "0")
    assert readable.exit_code == 0, readable.output
    assert "why      handler_error: KeyError: 'giro'" in readable.stdout
    assert f"from     {topics.PAYMENT_COMMANDS}/2@" in readable.stdout
    assert '"id": "cmd-1"' in readable.stdout
    assert f"lunas dlq redrive {DLQ} --partition 0 --offset 0" in readable.stdout

    missing = lunas(test_settings, "dlq", "show", DLQ, "0", "9")
    assert missing.exit_code == 1
    assert "no record" in missing.stderr


def test_redrive_all_sends_originals_back_once(test_settings: Settings) -> None:
    create_topics(test_settings)
    bootstrap = test_settings.kafka_bootstrap_servers
    assert bootstrap
    park(bootstrap, [(41, command(1)), (42, command(2))])

    dry = lunas_json(test_settings, "dlq", "redrive", DLQ, "--all", "--dry-run")
    assert [s["message_id"] for s in dry["selected"]] == ["cmd-1", "cmd-2"]
    assert read_all(bootstrap, topics.PAYMENT_COMMANDS, quiet_s=1.0) == []

    first = lunas_json(test_settings, "dlq", "redrive", DLQ, "--all")
    second = lunas_json(test_settings, "dlq", "redrive", DLQ, "--all")

    assert first["delivered"] == 2
    assert second["selected"] == []
    assert second["delivered"] == 0
    back = sorted(read_all(bootstrap, topics.PAYMENT_COMMANDS), key=lambda r: r.key or b"")
    assert [(r.key, json.loads(r.value or b"")["id"]) for r in back] == [
        (b"t1:CP-41", "cmd-1"),
        (b"t1:CP-42", "cmd-2"),
    ]
    for record in back:
        assert [k for k, _ in record.headers] == ["content-type", "trace"]

    # A new letter after that: only it is redriven next time.
    park(bootstrap, [(43, command(3))])
    third = lunas_json(test_settings, "dlq", "redrive", DLQ, "--all")
    assert [s["message_id"] for s in third["selected"]] == ["cmd-3"]


def test_redrive_one_letter_and_refuse_a_non_dlq_topic(test_settings: Settings) -> None:
    create_topics(test_settings)
    bootstrap = test_settings.kafka_bootstrap_servers
    assert bootstrap
    park(bootstrap, [(41, command(1)), (42, command(2))])

    one = lunas_json(test_settings, "dlq", "redrive", DLQ, "--partition", "0", "--offset", "1")
    assert [s["message_id"] for s in one["selected"]] == ["cmd-2"]
    (record,) = read_all(bootstrap, topics.PAYMENT_COMMANDS)
    assert record.key == b"t1:CP-42"

    wrong = lunas(test_settings, "dlq", "redrive", topics.PAYMENT_COMMANDS, "--all")
    assert wrong.exit_code == 1
    assert "not a dead-letter topic" in wrong.stderr
    neither = lunas(test_settings, "dlq", "redrive", DLQ)
    assert neither.exit_code == 2
