"""The core the notify_svc stream agent calls per source event: derive, store in feeds, publish.

Contract for the caller (the faust agent):
- `Handled` — done; the offset may be acked.
- `Malformed` — a known event type whose data cannot make a notification: send the message to the
  DLQ explicitly (faust would otherwise ack and forget it), then go on.
- An exception (Redis or Kafka unreachable) is transient: retry the same event with backoff, never
  skip it. Retrying is safe: feed writes dedupe by notification id, join entries are set, not
  appended, and consumers of `notifications` dedupe by the same id, so a notification is published
  again on every attempt (a crash between store and publish must not lose the publish).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from schemas import Envelope, make_event
from services.notify_svc import settlement
from services.notify_svc.model import DEFAULT_LOCALE, Locale, Notification, SourceEvent
from services.notify_svc.rules import Malformed, Routing, notification_for, plan
from services.notify_svc.service import SERVICE

NOTIFY_SOURCE = SERVICE.source
SOURCE_TOPICS = SERVICE.reads

Publish = Callable[[Notification], Awaitable[None]]


class FeedWriter(Protocol):
    async def add(self, notification: Notification) -> bool: ...


class JoinStore(Protocol):
    """Join state of one correlation (`settlement`): set one entry, read all, atomically."""

    async def remember(
        self, tenantid: str, correlationid: str, name: str, value: str
    ) -> Mapping[str, str]: ...


class LocaleSource(Protocol):
    """A recipient's chosen locale (`PUT /v1/preferences`), None when they chose none."""

    async def locale_of(self, tenantid: str, recipient: str) -> Locale | None: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything the handling core reads and writes besides the event itself."""

    feed: FeedWriter
    joins: JoinStore
    locales: LocaleSource
    routing: Routing = field(default_factory=Routing)


@dataclass(frozen=True, slots=True)
class Handled:
    """What one source event produced: every notification, and which were new in their feed."""

    notifications: tuple[Notification, ...]
    newly_stored: int


async def _locale(ports: Ports, tenantid: str, recipient: str) -> Locale:
    return await ports.locales.locale_of(tenantid, recipient) or DEFAULT_LOCALE


async def derive(event: SourceEvent, ports: Ports) -> tuple[Notification, ...] | Malformed:
    """Every notification `event` yields: to its recipients, and to the seller of an approved
    cancellation whose billing payment_svc undid (`settlement`)."""
    planned = plan(event, ports.routing)
    if isinstance(planned, Malformed):
        return planned
    out: dict[str, Notification] = {}
    if planned is not None:
        for recipient in planned.recipients:
            locale = await _locale(ports, event.tenantid, recipient)
            made = notification_for(event, planned, recipient, locale)
            out[made.notification_id] = made
    entry = settlement.entry_of(event)
    if entry is not None:
        entries = await ports.joins.remember(
            entry.tenantid, entry.correlationid, entry.field, entry.value
        )
        for fact, approval in settlement.pairs(event, entries):
            locale = await _locale(ports, event.tenantid, approval.seller)
            told = settlement.seller_notification(fact, approval, locale)
            if told is not None:
                out.setdefault(told.notification_id, told)
    return tuple(out.values())


async def handle_source_event(
    event: SourceEvent, *, ports: Ports, publish: Publish
) -> Handled | Malformed:
    """Turn `event` into its notifications, write each to its feed, publish each."""
    derived = await derive(event, ports)
    if isinstance(derived, Malformed):
        return derived
    newly_stored = 0
    for notification in derived:
        if await ports.feed.add(notification):
            newly_stored += 1
        await publish(notification)
    return Handled(derived, newly_stored)


def notification_event(notification: Notification, *, cause: Envelope | None = None) -> Envelope:
    """The `notification.created` message for the `notifications` topic.

    Its id is the notification id and its time the source fact's, so a re-publish after a retry
    is the same message byte for byte. Its Kafka key (`<tenantid>:<notification id>`) spreads
    feeds over partitions; readers order by `created_at`, not by partition.
    """
    return make_event(
        "notification.created",
        notification.to_wire(),
        id=notification.notification_id,
        source=NOTIFY_SOURCE,
        time=notification.created_at,
        tenantid=notification.tenantid,
        subject=notification.notification_id,
        cause=cause,
    )
