"""Which source events become notifications, and for whom. Pure: time and ids come from the event.

Who gets it (docs/ARCHITECTURE.md "notify_svc: who gets it"):
- The person on whose behalf the fact happened, recipient = their actor string (`user:<id>` or
  `admin:<id>`): for a pickup cancellation (`pickup.cancel.pending`, `pickup.cancel.decided`) the
  seller who asked, `data.requested_by` — a decision never goes to the deciding admin, whose actor
  the decided event carries; for every other fact the envelope `actor`, which services copy from
  the command that caused the fact (the seller who arranged a pickup, the collector or admin whose
  command was refused, the admin who resolved a Giro).
- The tenant's shared feed, recipient `tenant:<tenantid>`: the back office's inbox. The feed API
  serves it to a token issued for `tenant:<tenantid>`.
- For a cancellation waiting for a decision (`pickup.cancel.pending`, and its half-time
  `pickup.cancel.reminder`) and for an approval whose courier void failed (`pickup.void.failed`),
  also every pickup admin (`LUNAS_PICKUP_ADMINS`, recipients `admin:<id>`): they are the ones who
  must decide, or retry the void / mark it voided by hand. The reminder asks the admins to decide,
  so it goes to them and the tenant feed only, not to the seller who asked.
- For a cancellation whose decision deadline passed (`pickup.cancel.escalated`), every supervisor
  (`LUNAS_PICKUP_SUPERVISORS`, recipients `admin:<id>`) and the seller who asked.
- For a payment cancellation waiting for a second admin (four eyes), every payment admin
  (`LUNAS_PAYMENT_ADMINS`); its approval or rejection also goes to the admin who asked
  (`data.requested_by`).
- payment_svc refusing the `invoice.void` / `payment.release` pickup_svc sent for an approved
  cancellation (`command.rejected`, actor `system:pickup`) is its own kind, to the tenant feed and
  every payment admin (they can fix it); nobody sent it in person.
- A command still waiting half-way to its deadline (`command.waiting` with `stage` "halfway",
  emitted once by the service's timer) goes to its actor and the tenant feed, saying what has not
  come; the `command.waiting` of its parking tells nobody (nobody must act yet).
- `system:*` actors are services, not people: no personal notification. Nothing crosses tenants:
  every recipient is scoped by the event's `tenantid`.
The seller who asked for an approved cancellation also hears of payment_svc undoing the order's
billing (`invoice.voided`, `payment.released`) or refusing to; that needs the decision, so
`settlement` does it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.notification import RECIPIENT_PATTERN
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
# pickup_svc's actor on the payment commands an approved cancellation sends (handlers.py).
PICKUP_ACTOR = "system:pickup"
# Those commands, and the data field a refusal gets from its subject (the refused command's).
UNDO_COMMANDS: dict[str, str] = {"invoice.void": "invoice_no", "payment.release": "payment_no"}
ADMIN_PREFIX = "admin:"
# Limits of `notification.created` (schemas: ShortText title, LongText body). A body only reaches
# it when a 2000-char rejection message is quoted; the full text stays in `data`.
TITLE_LIMIT = 100
BODY_LIMIT = 2000
_NOT_PEOPLE = ("system:", TENANT_FEED_PREFIX)
_RECIPIENT = re.compile(RECIPIENT_PATTERN)

# Source data worth keeping on the notification: what templates read and what a client needs to
# link to the order, payment, invoice or command. Scalars, plus a few small objects and lists.
_KEPT_FIELDS = (
    *("request_id", "order_id", "origin", "awb", "previous_awb", "voided_awb", "courier"),
    *("decision", "reason", "reason_code", "requested_reason", "requested_by", "decided_by"),
    *("requested_at", "deadline", "answer", "attempts", "approved_by", "voided_by", "void_note"),
    *("decided_at", "payment_no", "invoice_no", "customer_id", "customer_name", "method"),
    *("amount", "currency", "status", "usage", "payment_date", "resolved_date"),
    *("command_id", "command_type", "code", "message"),
    *("approval_reason", "approval_amount", "bank_charge", "bounced_date"),
    *("reminder_date", "days_overdue"),
    *("until", "stage"),
)
_KEPT_PARTS = ("giro", "billing", "released", "supervisors", "awaiting")
# Tuples, not `str | int`: a union built on every call is the slower `isinstance` (per field).
_SCALARS = (str, int, float, bool)
_COMPOUNDS = (dict, list)

_SIMPLE_KINDS: dict[str, Kind] = {
    "pickup.cancel.pending": Kind.PICKUP_CANCEL_REQUESTED,
    "pickup.arranged": Kind.PICKUP_ARRANGED,
    "pickup.cancel.reminder": Kind.PICKUP_CANCEL_REMINDER,
    "pickup.cancel.escalated": Kind.PICKUP_CANCEL_ESCALATED,
    "pickup.void.failed": Kind.PICKUP_VOID_FAILED,
    "payment.cancelled": Kind.PAYMENT_CANCELLED,
    "payment.resolved": Kind.PAYMENT_RESOLVED,
    "invoice.voided": Kind.INVOICE_VOIDED,
    "command.rejected": Kind.COMMAND_REJECTED,
    "payment.cancel.requested": Kind.PAYMENT_CANCEL_REQUESTED,
    "payment.cancel.rejected": Kind.PAYMENT_CANCEL_REJECTED,
    "payment.bounced": Kind.PAYMENT_BOUNCED,
    "payment.giro.overdue": Kind.GIRO_OVERDUE,
}
SOURCE_TYPES = frozenset(
    {*_SIMPLE_KINDS, "pickup.cancel.decided", "payment.released", "command.waiting"}
)
# The seller asked for these; the event's actor may be someone else (the deciding admin, the
# admin who retried a void, `system:pickup-sla`).
_REQUESTED_BY_SELLER = frozenset(
    {
        "pickup.cancel.pending",
        "pickup.cancel.decided",
        "pickup.cancel.escalated",
        "pickup.void.failed",
    }
)
# Addressed to whoever must act, not to anyone on whose behalf it happened.
_NOBODYS_OWN = frozenset({"pickup.cancel.reminder"})
_TO_PAYMENT_ADMINS = frozenset((Kind.PAYMENT_CANCEL_REQUESTED, Kind.BILLING_UNDO_REJECTED))
_TO_ADMINS = frozenset(
    (Kind.PICKUP_CANCEL_REQUESTED, Kind.PICKUP_CANCEL_REMINDER, Kind.PICKUP_VOID_FAILED)
)
# Four eyes: the admin who asked for a payment cancellation hears how the second admin decided.
_REQUESTED_BY_ADMIN = frozenset({"payment.cancelled", "payment.cancel.rejected"})


@dataclass(frozen=True, slots=True)
class Malformed:
    """A source event of a known type that cannot be turned into a notification (DLQ material)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Routing:
    """Configuration of who hears what beyond the actor and the tenant feed."""

    pickup_admins: frozenset[str] = field(default_factory=frozenset)
    pickup_supervisors: frozenset[str] = field(default_factory=frozenset)
    payment_admins: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        roles = (
            ("pickup admin", self.pickup_admins),
            ("pickup supervisor", self.pickup_supervisors),
            ("payment admin", self.payment_admins),
        )
        for role, ids in roles:
            for admin in ids:
                if not _RECIPIENT.match(f"{ADMIN_PREFIX}{admin}"):
                    raise ValueError(f"{role} id {admin!r} cannot name a notification feed")

    def admins(self) -> tuple[str, ...]:
        return tuple(f"{ADMIN_PREFIX}{admin}" for admin in sorted(self.pickup_admins))

    def supervisors(self) -> tuple[str, ...]:
        return tuple(f"{ADMIN_PREFIX}{admin}" for admin in sorted(self.pickup_supervisors))

    def payment_admin_feeds(self) -> tuple[str, ...]:
        return tuple(f"{ADMIN_PREFIX}{admin}" for admin in sorted(self.payment_admins))


@dataclass(frozen=True, slots=True)
class Plan:
    """What one source event tells (rendered in every locale) and to whom."""

    kind: Kind
    data: Mapping[str, Any]
    renderings: Mapping[Locale, Rendered]
    recipients: tuple[str, ...]


def tenant_feed(tenantid: str) -> str:
    """Recipient name of the tenant-wide feed."""
    return f"{TENANT_FEED_PREFIX}{tenantid}"


def person(value: object) -> str | None:
    """`value` when it names a person (`user:` or `admin:`), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return None if value.startswith(_NOT_PEOPLE) else value


def undo_refused(event: SourceEvent) -> bool:
    """Whether `event` is payment_svc refusing to undo an approved cancellation's billing."""
    return (
        event.type == "command.rejected"
        and event.actor == PICKUP_ACTOR
        and event.data.get("command_type") in UNDO_COMMANDS
    )


def _kind_of(event: SourceEvent) -> Kind | Malformed | None:
    if undo_refused(event):
        return Kind.BILLING_UNDO_REJECTED
    if event.type in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[event.type]
    if event.type == "command.waiting":
        # Parked: nobody must act yet. Half-way to the deadline: someone should look.
        return Kind.COMMAND_WAITING if event.data.get("stage") == "halfway" else None
    if event.type == "payment.released":
        # Releasing what was already free changes nothing a person needs to hear of.
        return Kind.PAYMENT_RELEASED if event.data.get("released") else None
    if event.type != "pickup.cancel.decided":
        return None
    decision = event.data.get("decision")
    if decision == "approve":
        return Kind.PICKUP_CANCEL_APPROVED
    if decision == "reject":
        return Kind.PICKUP_CANCEL_REJECTED
    return Malformed(f"pickup.cancel.decided with decision {decision!r}")


def _originator(event: SourceEvent) -> str | None:
    if event.type in _NOBODYS_OWN:
        return None
    if event.type in _REQUESTED_BY_SELLER:
        return person(event.data.get("requested_by"))
    return person(event.actor)


def recipients(event: SourceEvent, kind: Kind, routing: Routing) -> tuple[str, ...]:
    """The person first (when there is one), the tenant feed, then any admins or supervisors;
    each once."""
    candidates = [_originator(event), tenant_feed(event.tenantid)]
    if kind in _TO_ADMINS:
        candidates += routing.admins()
    if kind is Kind.PICKUP_CANCEL_ESCALATED:
        candidates += routing.supervisors()
    if event.type in _REQUESTED_BY_ADMIN:
        candidates.insert(1, person(event.data.get("requested_by")))
    if kind in _TO_PAYMENT_ADMINS:
        candidates += routing.payment_admin_feeds()
    return tuple(dict.fromkeys(c for c in candidates if c))


def kept(data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a source event's data a notification keeps (scalars first, in the order of
    `_KEPT_FIELDS`, then the objects and lists of `_KEPT_PARTS`)."""
    out: dict[str, Any] = {}
    for key in _KEPT_FIELDS:
        value = data.get(key)
        if value is not None and value != "" and isinstance(value, _SCALARS):
            out[key] = value
    for key in _KEPT_PARTS:
        value = data.get(key)
        if isinstance(value, _COMPOUNDS):
            out[key] = value
    return out


def _facts(event: SourceEvent) -> dict[str, Any]:
    """What a notification of `event` keeps: its data, and for a refused undo the invoice or
    payment it names only by its subject."""
    data = kept(event.data)
    if undo_refused(event) and event.subject:
        data.setdefault(UNDO_COMMANDS[str(event.data["command_type"])], event.subject)
    if event.type == "command.waiting" and event.subject:
        data.setdefault("subject", event.subject)  # the waiting command's payment or order
    return data


def render_all(
    kind: Kind, data: Mapping[str, Any], locales: tuple[Locale, ...] = LOCALES
) -> dict[Locale, Rendered] | Unrenderable:
    """`data` rendered in each of `locales` (by default every locale, so that what is stored
    is known to render in whichever one the feed API is asked for)."""
    renderings: dict[Locale, Rendered] = {}
    for locale in locales:
        rendered = render(kind, data, locale)
        if isinstance(rendered, Unrenderable):
            return rendered
        renderings[locale] = rendered
    return renderings


def plan(
    event: SourceEvent, routing: Routing, locales: tuple[Locale, ...] = LOCALES
) -> Plan | Malformed | None:
    """What `event` tells and to whom, rendered in `locales`; None for facts nobody needs to
    see."""
    kind = _kind_of(event)
    if kind is None or isinstance(kind, Malformed):
        return kind
    if not event.tenantid.strip():
        return Malformed(f"{event.type} {event.event_id} has no tenantid")
    data = _facts(event)
    renderings = render_all(kind, data, locales)
    if isinstance(renderings, Unrenderable):
        return Malformed(f"{event.type} {event.event_id}: {renderings.reason}")
    return Plan(kind, data, renderings, recipients(event, kind, routing))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notification_for(
    event: SourceEvent, planned: Plan, recipient: str, locale: Locale
) -> Notification:
    """The notification `planned` gives `recipient`, rendered in `locale`."""
    rendered = planned.renderings[locale]
    return Notification(
        notification_id=derive_notification_id(event.tenantid, event.event_id, recipient),
        tenantid=event.tenantid,
        recipient=recipient,
        kind=planned.kind.value,
        title=_clip(rendered.title, TITLE_LIMIT),
        body=_clip(rendered.body, BODY_LIMIT),
        locale=locale,
        data=planned.data,
        created_at=event.time,
        source_event_id=event.event_id,
    )


def _default_locale(_recipient: str) -> Locale:
    return DEFAULT_LOCALE


def derive_notifications(
    event: SourceEvent,
    *,
    routing: Routing | None = None,
    locale_for: Callable[[str], Locale] = _default_locale,
) -> tuple[Notification, ...] | Malformed:
    """The notifications `event` yields: none for facts nobody needs to see, else one per
    recipient, each in its recipient's locale (`locale_for`, Indonesian by default)."""
    planned = plan(event, routing or Routing())
    if planned is None or isinstance(planned, Malformed):
        return () if planned is None else planned
    return tuple(
        notification_for(event, planned, recipient, locale_for(recipient))
        for recipient in planned.recipients
    )
