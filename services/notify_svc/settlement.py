"""Telling the seller that payment_svc undid an approved cancellation's billing. Pure.

Decision: a **second notification**, not an update of the approval. The approval says
only what pickup_svc did (bill void) and what it asked payment_svc for (`billing`); each of
payment_svc's `invoice.voided` / `payment.released` for that approval then becomes a notification
of its own to the seller who asked (kind `invoice_voided` / `payment_released`, `data.order_id`
the order). Why not update the first one: feeds and the `notifications` topic are append-only and
idempotent by id (a re-delivery or `feed rebuild` can never resurrect an older text), each fact
keeps the time it happened, and a seller who already read the approval still gets an unread
notification when the invoice is actually void. Ids derive from the payment event's id and the
seller, like every notification id, so re-deliveries and replays dedupe.

How the two sides meet: every message one `pickup.cancel.decide` set off shares its correlation id
(the decided event, the `invoice.void` / `payment.release` commands pickup_svc derived, and the
events payment_svc emitted for them). notify keeps, per (tenant, correlation id), the approval
(`approval:<order_id>` → seller) and payment_svc's facts (`fact:<event id>`) in a `JoinStore`
(Redis, expiring after `JOIN_TTL`); whichever side arrives second produces the seller's
notification, so the two topics may be read in any order. A fact is matched to the approval of
its order: `invoice.voided` names the order; a `payment.released` names it when payment_svc says
so, else through the `invoice.voided` of the same invoice, else it belongs to the only approval of
that correlation. Lost join state (Redis flushed mid-way) costs the seller this second message
only; the tenant feed hears of every void and release regardless.

A refusal is such a fact too: payment_svc's `command.rejected` of one of those
commands (`rules.undo_refused`) becomes the seller's `billing_undo_rejected`, so the seller does
not go on believing the invoice void. It names neither order nor invoice in its data, only the
refused command's subject (the invoice of an `invoice.void`, the payment of a `payment.release`):
it belongs to the approval whose `billing` lists that subject, else to the only approval of that
correlation. The tenant feed and the payment admins hear of it at once, joined or not (`rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from pydantic_core import from_json, to_json

from services.notify_svc.model import LOCALES, Locale, Notification, SourceEvent
from services.notify_svc.rules import (
    Malformed,
    Plan,
    Routing,
    kept,
    notification_for,
    person,
    plan,
    undo_refused,
)

JOIN_TTL = timedelta(days=14)
APPROVAL = "approval:"
FACT = "fact:"
_FACT_TYPES = frozenset({"invoice.voided", "payment.released"})


@dataclass(frozen=True, slots=True)
class Approval:
    """An approved cancellation: whose order it was, who asked, the invoice and payments it
    asked payment_svc to void and release (empty for an approval from before `billing`)."""

    order_id: str
    seller: str
    request_id: str | None
    billed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class JoinEntry:
    """What to remember of one event, under (tenant, correlation id)."""

    tenantid: str
    correlationid: str
    field: str
    value: str


def _is_fact(event: SourceEvent) -> bool:
    return event.type in _FACT_TYPES or undo_refused(event)


def _billed(billing: object) -> frozenset[str]:
    if not isinstance(billing, Mapping):
        return frozenset()
    payments = billing.get("payment_nos")
    numbers = [billing.get("invoice_no"), *(payments if isinstance(payments, list) else [])]
    return frozenset(n for n in numbers if isinstance(n, str))


def _approval_of(event: SourceEvent) -> Approval | None:
    data = event.data
    seller, order = person(data.get("requested_by")), data.get("order_id")
    if data.get("decision") != "approve" or seller is None or not isinstance(order, str):
        return None
    request = data.get("request_id")
    billed = _billed(data.get("billing"))
    return Approval(order, seller, request if isinstance(request, str) else None, billed)


def entry_of(event: SourceEvent) -> JoinEntry | None:
    """The entry `event` adds to its correlation's join state; None when it takes no part."""
    if not event.correlationid:
        return None
    if event.type == "pickup.cancel.decided":
        approval = _approval_of(event)
        if approval is None:
            return None
        value = to_json(
            {
                "order_id": approval.order_id,
                "seller": approval.seller,
                "request": approval.request_id,
                "billed": sorted(approval.billed),
            }
        ).decode()
        return JoinEntry(
            event.tenantid, event.correlationid, f"{APPROVAL}{approval.order_id}", value
        )
    if _is_fact(event):
        value = to_json(event.to_wire()).decode()
        return JoinEntry(event.tenantid, event.correlationid, f"{FACT}{event.event_id}", value)
    return None


def _approvals_in(entries: Mapping[str, str]) -> dict[str, Approval]:
    approvals: dict[str, Approval] = {}
    for name, raw in entries.items():
        if not name.startswith(APPROVAL):
            continue
        try:
            value = from_json(raw)
            request = value.get("request")
            approvals[value["order_id"]] = Approval(
                str(value["order_id"]),
                str(value["seller"]),
                None if request is None else str(request),
                frozenset(str(n) for n in value.get("billed", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not written by this module: ignore rather than fail every later event
    return approvals


def _facts_in(entries: Mapping[str, str]) -> list[SourceEvent]:
    facts: list[SourceEvent] = []
    for name, raw in entries.items():
        if not name.startswith(FACT):
            continue
        try:
            facts.append(SourceEvent.from_wire(from_json(raw)))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # as above
    return facts


def _released_invoices(fact: SourceEvent) -> set[str]:
    lines = fact.data.get("released")
    if not isinstance(lines, list):
        return set()
    return {
        str(line["invoice_no"]) for line in lines if isinstance(line, dict) and "invoice_no" in line
    }


def _order_of(
    fact: SourceEvent,
    approvals: Mapping[str, Approval],
    facts: Callable[[], Sequence[SourceEvent]],
) -> str | None:
    named = fact.data.get("order_id")
    if isinstance(named, str):
        return named
    if undo_refused(fact):
        billed = [a.order_id for a in approvals.values() if fact.subject in a.billed]
        if len(billed) == 1:
            return billed[0]
    invoices = _released_invoices(fact)
    for other in facts():
        if other.type == "invoice.voided" and other.data.get("invoice_no") in invoices:
            order = other.data.get("order_id")
            if isinstance(order, str):
                return order
    return next(iter(approvals)) if len(approvals) == 1 else None


def pairs(event: SourceEvent, entries: Mapping[str, str]) -> list[tuple[SourceEvent, Approval]]:
    """The (fact, approval) pairs `event` completes, given its correlation's join state.

    Reads of the state are lazy: a fact's entries are parsed only when an approval is there to
    pair it with and the fact does not name its order itself.
    """
    if event.type == "pickup.cancel.decided":
        approval = _approval_of(event)
        if approval is None:
            return []
        approvals, facts = _approvals_in(entries), _facts_in(entries)
        return [
            (f, approval)
            for f in facts
            if _order_of(f, approvals, lambda: facts) == approval.order_id
        ]
    if not _is_fact(event):
        return []
    approvals = _approvals_in(entries)
    if not approvals:
        return []
    order = _order_of(event, approvals, lambda: _facts_in(entries))
    return [(event, approvals[order])] if order in approvals else []


def seller_plan(
    fact: SourceEvent, approval: Approval, locales: tuple[Locale, ...] = LOCALES
) -> Plan | None:
    """What `fact` tells the seller of `approval`, rendered in `locales`: the fact's text,
    about their order."""
    about = {"order_id": approval.order_id, "request_id": approval.request_id}
    data = {**kept(fact.data), **{k: v for k, v in about.items() if v is not None}}
    planned = plan(replace(fact, data=data), Routing(), locales)
    if planned is None or isinstance(planned, Malformed):
        return None  # it rendered for the tenant feed; nothing new to tell if not for the seller
    return Plan(planned.kind, planned.data, planned.renderings, (approval.seller,))


def seller_notification(
    fact: SourceEvent, approval: Approval, locale: Locale
) -> Notification | None:
    """The notification of `fact` for the seller of `approval`, in `locale`.

    Rendered in that locale only: the fact's own plan (for the tenant feed) already rendered
    its data in every locale, and the seller's adds only the order and request ids.
    """
    planned = seller_plan(fact, approval, (locale,))
    return None if planned is None else notification_for(fact, planned, approval.seller, locale)
