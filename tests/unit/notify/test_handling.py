"""Source events of the seed scenarios through the handling core, checked against the contract."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

import schemas
from schemas.notification import NotificationCreated
from services.notify_svc.handling import (
    FeedWriter,
    Handled,
    handle_source_event,
    notification_event,
)
from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import SOURCE_TYPES, Malformed

EXAMPLES = Path(schemas.__file__).parent / "examples"
AT = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)


def _source_envelopes() -> list[schemas.Envelope]:
    envelopes = [schemas.decode(p.read_bytes()) for p in sorted(EXAMPLES.glob("*/*.json"))]
    return [env for env in envelopes if env.type in SOURCE_TYPES]


class MemoryFeed:
    def __init__(self) -> None:
        self.items: dict[str, Notification] = {}

    async def add(self, notification: Notification) -> bool:
        is_new = notification.notification_id not in self.items
        self.items.setdefault(notification.notification_id, notification)
        return is_new


class Failing:
    async def add(self, notification: Notification) -> bool:
        raise ConnectionError("redis down")


def _run(
    event: SourceEvent, store: FeedWriter, published: list[Notification]
) -> Handled | Malformed:
    async def publish(n: Notification) -> None:
        published.append(n)

    return asyncio.run(handle_source_event(event, store=store, publish=publish))


def test_the_seed_scenarios_contain_every_source_type_we_handle() -> None:
    assert {env.type for env in _source_envelopes()} >= {
        "pickup.cancel.pending",
        "pickup.cancel.decided",
        "pickup.arranged",
        "payment.cancelled",
        "payment.resolved",
        "command.rejected",
    }


@pytest.mark.parametrize("envelope", _source_envelopes(), ids=lambda e: f"{e.type}:{e.id[:8]}")
def test_every_seed_event_yields_valid_notification_messages(envelope: schemas.Envelope) -> None:
    published: list[Notification] = []
    outcome = _run(SourceEvent.from_envelope(envelope), MemoryFeed(), published)
    assert isinstance(outcome, Handled), outcome
    assert published == list(outcome.notifications) and outcome.newly_stored == len(published)
    for notification in published:
        message = notification_event(notification, cause=envelope)
        assert isinstance(message.data, NotificationCreated)
        assert message.causationid == envelope.id and message.tenantid == envelope.tenantid
        # Round trip through the codec, as the feed rebuild from `notifications` will do.
        again = schemas.decode(schemas.encode(message))
        assert Notification.from_wire(again.data_dict()) == notification


def test_a_redelivered_event_stores_nothing_new_but_publishes_again() -> None:
    envelope = next(e for e in _source_envelopes() if e.type == "pickup.cancel.decided")
    feed, published = MemoryFeed(), list[Notification]()
    first = _run(SourceEvent.from_envelope(envelope), feed, published)
    second = _run(SourceEvent.from_envelope(envelope), feed, published)
    assert isinstance(first, Handled) and isinstance(second, Handled)
    assert first.newly_stored == len(first.notifications) and second.newly_stored == 0
    assert len(feed.items) == len(first.notifications)
    assert published == [*first.notifications, *second.notifications]


def test_redis_failure_escapes_so_the_agent_retries_and_nothing_is_published() -> None:
    envelope = next(e for e in _source_envelopes() if e.type == "payment.resolved")
    published: list[Notification] = []
    with pytest.raises(ConnectionError):
        _run(SourceEvent.from_envelope(envelope), Failing(), published)
    assert published == []


def test_malformed_data_is_returned_for_the_dlq_and_nothing_is_written() -> None:
    event = SourceEvent("pickup.arranged", "dist-1", "e-1", AT, {"order_id": "SO-1"})
    feed, published = MemoryFeed(), list[Notification]()
    assert isinstance(_run(event, feed, published), Malformed)
    assert feed.items == {} and published == []


def test_a_long_rejection_message_still_fits_the_notification_contract() -> None:
    data = {"command_id": "c-1", "command_type": "payment.cancel", "code": "invalid"}
    data["message"] = "x" * 2000
    event = SourceEvent("command.rejected", "dist-1", "e-2", AT, data, "user:u1")
    published: list[Notification] = []
    outcome = _run(event, MemoryFeed(), published)
    assert isinstance(outcome, Handled)
    for notification in published:
        assert isinstance(notification_event(notification).data, NotificationCreated)
        assert notification.data["message"] == "x" * 2000
