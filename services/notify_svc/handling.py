"""The core the notify_svc stream agent calls per batch of source events: derive, store, publish.

A batch reads and writes Redis a few times in all, never once per event: its settlement join
entries are remembered in one pipeline (in arrival order, so each sees those before it), the
locales of all its recipients are read in one, and all its notifications are written to their
feeds in one (`FeedStore.add_all`).

Contract for the caller (the faust agent), per event:
- a tuple of notifications — done; publish them, then the offset may be acked.
- `Malformed` — a known event type whose data cannot make a notification: send the message to the
  DLQ explicitly (faust would otherwise ack and forget it), then go on.
- An exception (Redis or Kafka unreachable) is transient: retry the same batch with backoff, never
  skip it. Retrying is safe: feed writes dedupe by notification id, join entries are set, not
  appended, and consumers of `notifications` dedupe by the same id, so a notification is published
  again on every attempt (a crash between store and publish must not lose the publish).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas import Envelope, encode_event, kafka_key_of, make_event
from services.notify_svc import settlement
from services.notify_svc.model import DEFAULT_LOCALE, Locale, Notification, SourceEvent
from services.notify_svc.rules import Malformed, Plan, Routing, notification_for, plan
from services.notify_svc.service import SERVICE
from services.notify_svc.settlement import Approval, JoinEntry

NOTIFY_SOURCE = SERVICE.source
SOURCE_TOPICS = SERVICE.reads

Publish = Callable[[Notification], Awaitable[None]]
Reader = tuple[str, str]  # (tenant, recipient)
# What one source event yields: its notifications, or why its data cannot make any.
Derived = tuple[Notification, ...] | Malformed


class FeedWriter(Protocol):
    async def add_all(self, notifications: Sequence[Notification]) -> list[bool]:
        """Store each in its feed, in order; per notification, whether it was new there."""
        ...


class JoinStore(Protocol):
    """Join state of correlations (`settlement`): per entry, set it and read its correlation's
    whole state, atomically, in order."""

    async def remember_all(self, entries: Sequence[JoinEntry]) -> list[Mapping[str, str]]: ...


class LocaleSource(Protocol):
    """Readers' chosen locales (`PUT /v1/preferences`); a reader who chose none is absent."""

    async def locales_of(self, readers: Collection[Reader]) -> Mapping[Reader, Locale]: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything the handling core reads and writes besides the events themselves."""

    feed: FeedWriter
    joins: JoinStore
    locales: LocaleSource
    routing: Routing = field(default_factory=Routing)


@dataclass(frozen=True, slots=True)
class Handled:
    """What one source event produced: every notification, and which were new in their feed."""

    notifications: tuple[Notification, ...]
    newly_stored: int


Pairs = list[tuple[SourceEvent, Approval]]


async def _joined(
    events: Sequence[SourceEvent], plans: Sequence[Plan | Malformed | None], ports: Ports
) -> list[Pairs]:
    """Per event, the (fact, approval) pairs it completes, the batch's entries remembered in
    arrival order."""
    entries = [
        None if isinstance(planned, Malformed) else settlement.entry_of(event)
        for event, planned in zip(events, plans, strict=True)
    ]
    present = [entry for entry in entries if entry is not None]
    states = iter(await ports.joins.remember_all(present))
    return [
        [] if entry is None else settlement.pairs(event, next(states))
        for event, entry in zip(events, entries, strict=True)
    ]


def _made(
    event: SourceEvent, planned: Plan | None, pairs: Pairs, locales: Mapping[Reader, Locale]
) -> tuple[Notification, ...]:
    def locale(recipient: str) -> Locale:
        return locales.get((event.tenantid, recipient), DEFAULT_LOCALE)

    out: dict[str, Notification] = {}
    if planned is not None:
        for recipient in planned.recipients:
            made = notification_for(event, planned, recipient, locale(recipient))
            out[made.notification_id] = made
    for fact, approval in pairs:
        told = settlement.seller_notification(fact, approval, locale(approval.seller))
        if told is not None:
            out.setdefault(told.notification_id, told)
    return tuple(out.values())


async def derive_all(events: Sequence[SourceEvent], ports: Ports) -> list[Derived]:
    """Every notification each of `events` yields: to its recipients, and to the seller of an
    approved cancellation whose billing payment_svc undid (`settlement`)."""
    plans = [plan(event, ports.routing) for event in events]
    pairs = await _joined(events, plans, ports)
    readers: set[Reader] = set()
    for event, planned, told in zip(events, plans, pairs, strict=True):
        if isinstance(planned, Plan):
            readers.update((event.tenantid, recipient) for recipient in planned.recipients)
        readers.update((event.tenantid, approval.seller) for _, approval in told)
    locales = await ports.locales.locales_of(readers) if readers else {}
    return [
        planned if isinstance(planned, Malformed) else _made(event, planned, told, locales)
        for event, planned, told in zip(events, plans, pairs, strict=True)
    ]


async def store_all(derived: Sequence[Derived], ports: Ports) -> list[int]:
    """Write every notification of `derived` to its feed, in one batch; per event, how many of
    its notifications were new there."""
    flat = [n for made in derived if not isinstance(made, Malformed) for n in made]
    stored = iter(await ports.feed.add_all(flat))
    return [
        0 if isinstance(made, Malformed) else sum(next(stored) for _ in made) for made in derived
    ]


async def handle_source_event(
    event: SourceEvent, *, ports: Ports, publish: Publish
) -> Handled | Malformed:
    """One event as a batch of one: its notifications, written to their feeds, each published."""
    (derived,) = await derive_all([event], ports)
    if isinstance(derived, Malformed):
        return derived
    (newly_stored,) = await store_all([derived], ports)
    for notification in derived:
        await publish(notification)
    return Handled(derived, newly_stored)


def notification_event(notification: Notification, *, cause: Envelope | None = None) -> Envelope:
    """The `notification.created` message for the `notifications` topic.

    Its id is the notification id and its time the source fact's, so a re-publish after a retry
    is the same message byte for byte. Its Kafka key (`<tenantid>:<notification id>`) spreads
    feeds over partitions; readers order by `created_at`, not by partition.
    """
    return make_event(**_created(notification, cause))


def notification_message(notification: Notification, *, cause: Envelope) -> tuple[bytes, bytes]:
    """The Kafka key and value of `notification_event(notification, cause=cause)` (`kafka_key`,
    `encode`), byte for byte, with only the payload validated (`schemas.encode_event`): raises
    the same `MessageInvalid` for a notification the contract refuses."""
    value = encode_event(**_created(notification, cause))
    return kafka_key_of(notification.tenantid, notification.notification_id), value


def _created(notification: Notification, cause: Envelope | None) -> dict[str, Any]:
    return {
        "type": "notification.created",
        "data": notification.to_wire(),
        "id": notification.notification_id,
        "source": NOTIFY_SOURCE,
        "time": notification.created_at,
        "tenantid": notification.tenantid,
        "subject": notification.notification_id,
        "cause": cause,
    }
