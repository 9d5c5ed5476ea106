"""Pickup contract commands and a topic watcher, shared by the pickup integration and e2e tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas import topics
from services.common.settings import Settings
from services.common.topics import ensure_topics
from tests.integration.runtime.helpers import produce

TENANT = "seller-77"
SELLER = "user:seller-77"
ADMIN = "admin:admin-1"
PAYMENT_TOPICS = (topics.PAYMENT_COMMANDS,)
PICKUP_OUTPUT = (topics.PICKUP_EVENTS, topics.PICKUP_CANCEL_DECIDED, topics.PAYMENT_COMMANDS)


def command(
    type_: str,
    subject: str,
    data: dict[str, Any],
    *,
    actor: str,
    source: str = "/seller-app",
    msg_id: str | None = None,
    tenant: str = TENANT,
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": msg_id or str(uuid.uuid4()),
        "type": type_,
        "source": source,
        "time": "2026-11-22T10:00:00Z",
        "subject": subject,
        "tenantid": tenant,
        "actor": actor,
        "data": data,
    }


def arrange(
    order: str, *, invoice_no: str | None = None, payment_nos: Iterable[str] = ()
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": order,
        "courier": "jne",
        "payment_type": "prepaid" if invoice_no else "cod",
        "payment_nos": list(payment_nos),
        "pickup_at": "2026-11-23T13:00:00+07:00",
    }
    if invoice_no:
        data["invoice_no"] = invoice_no
    return command("pickup.arrange", order, data, actor=SELLER)


def cancel(order: str, reason: str = "Pembeli minta ganti alamat pengiriman.") -> dict[str, Any]:
    data = {"order_id": order, "reason": reason, "origin": "order"}
    return command("pickup.cancel.requested", order, data, actor=SELLER)


def decide(
    order: str, decision: str, reason: str | None = None, *, actor: str = ADMIN
) -> dict[str, Any]:
    data: dict[str, Any] = {"order_id": order, "decision": decision}
    if reason is not None:
        data["reason"] = reason
    return command("pickup.cancel.decide", order, data, actor=actor, source="/backoffice")


def status(order: str, awb: str, state: str) -> dict[str, Any]:
    data = {"order_id": order, "awb": awb, "status": state}
    return command("pickup.status", order, data, actor="system:courier-jne", source="/courier/jne")


@dataclass(frozen=True)
class Seen:
    topic: str
    message: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.message["type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.message["data"])


class Watcher:
    """Reads topics from the start with a manual assignment (no group join) and keeps all it saw."""

    def __init__(self, bootstrap: str, names: Iterable[str], partitions: int) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"watcher-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,  # caught up, a fetch returns soon after a new record
            }
        )
        self._consumer.assign(
            [TopicPartition(t, p, OFFSET_BEGINNING) for t in names for p in range(partitions)]
        )
        self.seen: list[Seen] = []

    def close(self) -> None:
        self._consumer.close()

    def poll(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._poll_once(0.2)

    def _poll_once(self, timeout: float) -> None:
        msg = self._consumer.poll(timeout)
        if msg is not None and msg.error() is None:
            topic = msg.topic()
            assert topic is not None
            self.seen.append(Seen(topic, json.loads(msg.value())))

    def matching(self, type_: str, topic: str | None = None, **data: Any) -> list[Seen]:
        return [
            s
            for s in self.seen
            if s.type == type_
            and (topic is None or s.topic == topic)
            and all(s.data.get(k) == v for k, v in data.items())
        ]

    def wait(
        self,
        type_: str,
        topic: str | None = None,
        *,
        count: int = 1,
        timeout: float = 60,
        **data: Any,
    ) -> list[Seen]:
        """The messages of `type_` whose data contains `data`, once at least `count` arrived."""
        deadline = time.monotonic() + timeout
        while len(self.matching(type_, topic, **data)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {count} x {type_} {data}; saw "
                    f"{[(s.topic, s.type, s.data) for s in self.seen]}"
                )
            self._poll_once(0.1)  # asked again after every record
        return self.matching(type_, topic, **data)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for a condition on the watched topics")
            self._poll_once(0.1)


@contextmanager
def watching(settings: Settings, names: Iterable[str] = PICKUP_OUTPUT) -> Iterator[Watcher]:
    """A Watcher on `names` of the settings' broker, once its topics exist; closed afterwards."""
    assert settings.kafka_bootstrap_servers
    ensure_topics(settings.kafka_config(), settings.topic_partitions)
    w = Watcher(settings.kafka_bootstrap_servers, names, settings.topic_partitions)
    try:
        yield w
    finally:
        w.close()


def send(settings: Settings, topic: str, *messages: dict[str, Any]) -> None:
    """Produces `messages` to `topic` of the settings' broker."""
    assert settings.kafka_bootstrap_servers
    produce(settings.kafka_bootstrap_servers, topic, list(messages))


def send_each(settings: Settings, *messages: dict[str, Any]) -> None:
    """Produces each message to the topic its sender would use: a seller's cancel request to
    its own topic, every other command to pickup's commands topic."""
    assert settings.kafka_bootstrap_servers
    for m in messages:
        topic = (
            topics.PICKUP_CANCEL_REQUESTED
            if m["type"] == "pickup.cancel.requested"
            else topics.PICKUP_COMMANDS
        )
        produce(settings.kafka_bootstrap_servers, topic, [m])
