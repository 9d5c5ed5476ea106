"""The core the notify_svc stream agent calls per source event: derive, store in feeds, publish.

Contract for the caller (the faust agent):
- `Handled` — done; the offset may be acked.
- `Malformed` — a known event type whose data cannot make a notification: send the message to the
  DLQ explicitly (faust would otherwise ack and forget it), then go on.
- An exception (Redis or Kafka unreachable) is transient: retry the same event with backoff, never
  skip it. Retrying is safe: feed writes dedupe by notification id, and consumers of
  `notifications` dedupe by the same id, so a notification is published again on every attempt
  (a crash between store and publish must not lose the publish).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from schemas import Envelope, make_event, topics
from services.notify_svc.model import DEFAULT_LOCALE, Locale, Notification, SourceEvent
from services.notify_svc.rules import Malformed, derive_notifications

NOTIFY_SOURCE = "/svc/notify"
SOURCE_TOPICS = (topics.PICKUP_EVENTS, topics.PICKUP_CANCEL_DECIDED, topics.PAYMENT_EVENTS)

Publish = Callable[[Notification], Awaitable[None]]


class FeedWriter(Protocol):
    async def add(self, notification: Notification) -> bool: ...


@dataclass(frozen=True, slots=True)
class Handled:
    """What one source event produced: every notification, and which were new in their feed."""

    notifications: tuple[Notification, ...]
    newly_stored: int


def _default_locale(_recipient: str) -> Locale:
    return DEFAULT_LOCALE


async def handle_source_event(
    event: SourceEvent,
    *,
    store: FeedWriter,
    publish: Publish,
    locale_for: Callable[[str], Locale] = _default_locale,
) -> Handled | Malformed:
    """Turn `event` into its notifications, write each to its feed, publish each."""
    derived = derive_notifications(event, locale_for=locale_for)
    if isinstance(derived, Malformed):
        return derived
    newly_stored = 0
    for notification in derived:
        if await store.add(notification):
            newly_stored += 1
        await publish(notification)
    return Handled(derived, newly_stored)


def notification_event(notification: Notification, *, cause: Envelope | None = None) -> Envelope:
    """The `notification.created` message for the `notifications` topic.

    Its id is the notification id and its time the source fact's, so a re-publish after a retry
    is the same message byte for byte. Its Kafka
    key (`<tenantid>:<notification id>`) spreads feeds over partitions; readers order by
    `created_at`, not by partition.
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
