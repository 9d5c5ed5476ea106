"""Which source events become notifications, and for whom. Pure: time and ids come from the event.

Who sees what:
- The person whose action caused the fact gets it in their own feed, recipient = their actor string
  (`user:<id>` or `admin:<id>`): for pickup facts the seller in `data.requested_by`; for other facts
  `data.requested_by`, `data.actor` or `data.originator`, else the envelope `actor`. A cancellation
  decision goes only to the seller who asked (never to the deciding admin via the envelope actor).
  `system:*` actors are services, not people: they get no personal notification.
- Every fact also goes to the tenant-wide feed, recipient `tenant:<tenantid>`: the back office's
  shared inbox (e.g. a pending cancellation an admin must decide). The feed API only serves a token
  the recipient named in it, so this feed is read with a token issued for `tenant:<tenantid>`.
- Nothing ever crosses tenants: the recipient is always scoped by the event's `tenantid`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.notify_svc.model import (
    DEFAULT_LOCALE,
    LOCALES,
    Locale,
    Notification,
    SourceEvent,
    derive_notification_id,
)
from services.notify_svc.templates import Kind, Rendered, Unrenderable, render

TENANT_FEED_PREFIX = "tenant:"
# Limits of `notification.created` (schemas: ShortText title, LongText body). A body only reaches
# it when a 2000-char rejection message is quoted; the full text stays in `data`.
TITLE_LIMIT = 100
BODY_LIMIT = 2000
_NOT_PEOPLE = ("system:", TENANT_FEED_PREFIX)

# Source data fields worth keeping on the notification: what templates read and what a client
# needs to link to the order, payment or command.
_KEPT_FIELDS = (
    "request_id",
    "order_id",
    "origin",
    "awb",
    "previous_awb",
    "voided_awb",
    "courier",
    "decision",
    "reason",
    "reason_code",
    "requested_reason",
    "requested_by",
    "decided_by",
    "decided_at",
    "payment_no",
    "invoice_no",
    "customer_id",
    "customer_name",
    "method",
    "amount",
    "currency",
    "status",
    "resolved_date",
    "command_id",
    "command_type",
    "code",
    "message",
)

_SIMPLE_KINDS: dict[str, Kind] = {
    "pickup.cancel.pending": Kind.PICKUP_CANCEL_REQUESTED,
    "pickup.arranged": Kind.PICKUP_ARRANGED,
    "payment.cancelled": Kind.PAYMENT_CANCELLED,
    "payment.resolved": Kind.PAYMENT_RESOLVED,
    "command.rejected": Kind.COMMAND_REJECTED,
}
SOURCE_TYPES = frozenset({*_SIMPLE_KINDS, "pickup.cancel.decided"})


@dataclass(frozen=True, slots=True)
class Malformed:
    """A source event of a known type that cannot be turned into a notification (DLQ material)."""

    reason: str


def tenant_feed(tenantid: str) -> str:
    """Recipient name of the tenant-wide feed."""
    return f"{TENANT_FEED_PREFIX}{tenantid}"


def _default_locale(_recipient: str) -> Locale:
    return DEFAULT_LOCALE


def _kind_of(event: SourceEvent) -> Kind | Malformed | None:
    if event.type in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[event.type]
    if event.type != "pickup.cancel.decided":
        return None
    decision = event.data.get("decision")
    if decision == "approve":
        return Kind.PICKUP_CANCEL_APPROVED
    if decision == "reject":
        return Kind.PICKUP_CANCEL_REJECTED
    return Malformed(f"pickup.cancel.decided with decision {decision!r}")


def _person(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return None if value.startswith(_NOT_PEOPLE) else value


def _originator(event: SourceEvent, kind: Kind) -> str | None:
    data = event.data
    if kind in (Kind.PICKUP_CANCEL_APPROVED, Kind.PICKUP_CANCEL_REJECTED):
        return _person(data.get("requested_by"))
    for candidate in (data.get("requested_by"), data.get("actor"), data.get("originator")):
        person = _person(candidate)
        if person:
            return person
    return _person(event.actor)


def recipients(event: SourceEvent, kind: Kind) -> tuple[str, ...]:
    """The originator (when a person) first, then the tenant feed; never the same one twice."""
    person = _originator(event, kind)
    feed = tenant_feed(event.tenantid)
    return (person, feed) if person else (feed,)


def _kept(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: data[key]
        for key in _KEPT_FIELDS
        if isinstance(data.get(key), str | int | float | bool) and data.get(key) != ""
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def derive_notifications(
    event: SourceEvent, *, locale_for: Callable[[str], Locale] = _default_locale
) -> tuple[Notification, ...] | Malformed:
    """The notifications `event` yields: none for facts nobody needs to see, else one per recipient.

    Each is rendered once, in its recipient's locale (`locale_for`, Indonesian by default); the
    data is checked to render in every locale so the feed API can re-render it on request.
    """
    kind = _kind_of(event)
    if kind is None or isinstance(kind, Malformed):
        return () if kind is None else kind
    if not event.tenantid.strip():
        return Malformed(f"{event.type} {event.event_id} has no tenantid")
    data = _kept(event.data)
    renderings: dict[Locale, Rendered] = {}
    for locale in LOCALES:
        rendered = render(kind, data, locale)
        if isinstance(rendered, Unrenderable):
            return Malformed(f"{event.type} {event.event_id}: {rendered.reason}")
        renderings[locale] = rendered
    out = []
    for recipient in recipients(event, kind):
        locale = locale_for(recipient)
        out.append(
            Notification(
                notification_id=derive_notification_id(event.tenantid, event.event_id, recipient),
                tenantid=event.tenantid,
                recipient=recipient,
                kind=kind.value,
                title=_clip(renderings[locale].title, TITLE_LIMIT),
                body=_clip(renderings[locale].body, BODY_LIMIT),
                locale=locale,
                data=data,
                created_at=event.time,
                source_event_id=event.event_id,
            )
        )
    return tuple(out)
