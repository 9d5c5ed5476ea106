"""librdkafka's own log reaches the structured log at the right level, never raw on stderr."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
from confluent_kafka import Consumer, Producer

from services.common.logging import configure_logging
from services.common.settings import Settings

RAW_LIBRDKAFKA_LINE = re.compile(r"%\d\|\d+\.\d+\|")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def _json_lines(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def _clients(lines: list[dict[str, object]]) -> set[str]:
    """`rdkafka#producer-3` -> `rdkafka#producer`, for each librdkafka line."""
    return {str(e["client"]).split("-")[0] for e in lines if e.get("event") == "kafka.client_log"}


def _try_to_send(producer: Producer) -> None:
    """One message to nowhere, polled for two seconds (librdkafka logs the failures), dropped."""
    try:
        producer.produce("payment.commands", b"{}")
        for _ in range(10):
            producer.poll(0.2)
    finally:
        producer.purge()
        producer.flush(0)


@pytest.mark.integration
def test_a_producer_and_a_consumer_without_a_broker_log_structured_errors(
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{_closed_port()}")
    producer = Producer({**settings.kafka_config(), "message.timeout.ms": 2000})
    consumer = Consumer({**settings.kafka_config(), "group.id": "lunas.test.closed-port"})
    try:
        consumer.subscribe(["payment.commands"])
        producer.produce("payment.commands", b"{}")
        deadline = time.monotonic() + 10
        seen: list[dict[str, object]] = []
        while time.monotonic() < deadline and len(_clients(seen)) < 2:
            producer.poll(0.2)
            consumer.poll(0.2)
            seen += _json_lines(capfd.readouterr().err)
    finally:
        consumer.close()
        producer.flush(0)
    failures = [e for e in seen if e.get("event") == "kafka.client_log"]
    assert _clients(failures) == {"rdkafka#producer", "rdkafka#consumer"}
    connect = [e for e in failures if e["facility"] == "FAIL"]
    assert connect and all(e["level"] == "error" for e in connect)
    assert all("Connection refused" in str(e["text"]) for e in connect)


@pytest.mark.integration
def test_no_raw_librdkafka_line_reaches_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{_closed_port()}")
    _try_to_send(Producer(settings.kafka_config()))
    err = capfd.readouterr().err
    assert "Connect to ipv4#127.0.0.1" in err  # the failure is reported ...
    assert not RAW_LIBRDKAFKA_LINE.search(err), err[:500]  # ... but only as structured lines
    # Without the logger, librdkafka prints its own format: the check above can fail.
    _try_to_send(Producer({"bootstrap.servers": settings.kafka_bootstrap_servers}))
    assert RAW_LIBRDKAFKA_LINE.search(capfd.readouterr().err)
