"""pickup_svc's commands, each declared once (docs/ARCHITECTURE.md "One command").

A ``CommandSpec`` per command type says everything about it: its wire model and topic, its
translation, the order it loads and may wait for, who may send it, its decision and what it may
emit. ``TABLE`` derives the rest: ``HANDLERS``, the unit of work's keys (``TABLE.names``), the
topics, and the dispatch the tests and the chaos oracle use (``TABLE.decide``). None of it sees
SQL or calls the courier: the unit of work asks it, inside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from schemas import Envelope, derive_id, make_event, topics
from schemas.pickup import COMMANDS as WIRE
from services.common.domain import Meta, Rejected
from services.common.runtime import Accepted, Handler, MessageContext, Outcome, Outgoing
from services.common.runtime.seam import (
    CommandSpec,
    CommandTable,
    Name,
    Ref,
    subject_of,
    translate_by_name,
)
from services.pickup_svc.domain import commands as c
from services.pickup_svc.domain.events import (
    CancelDecided,
    PickupArranged,
    PickupEvent,
    ReleasePayment,
    VoidInvoice,
)
from services.pickup_svc.domain.model import AirwayBill, Order
from services.pickup_svc.domain.policy import ANYONE, Rule, admin
from services.pickup_svc.domain.services import (
    Decision,
    arrange_pickup,
    check_arrange,
    decide_cancel,
    request_cancel,
    update_status,
)
from services.pickup_svc.domain.voiding import VoidOutcome, mark_voided, retry_void

# Who sends the payment commands an approval gives rise to.
PICKUP_ACTOR = "system:pickup"


class Orders(Protocol):
    """The batch's orders as the declarations see them: ``PickupUnitOfWork`` in production,
    ``MemoryOrders`` in the unit tests and the chaos oracle."""

    admins: frozenset[str]

    def order(self, tenant_id: str, order_id: str) -> Order | None: ...
    def exists(self, ref: Ref) -> bool: ...
    def stage(self, order: Order) -> None: ...
    def airway_bill(self, cause: str) -> str: ...
    def void_bill(self, order: Order, bill: AirwayBill) -> VoidOutcome: ...


# --- the decisions, given the batch's orders ---------------------------------------------------


def _arrange(cmd: c.ArrangePickup, meta: Meta, uow: Orders) -> Decision | Rejected:
    """`pickup.arrange` ("Atur Pengiriman"): a first pickup, or a new one after a cancellation."""
    before = uow.order(meta.tenant_id, cmd.order_id)
    # A refused command must not consume an airway bill from the courier.
    if refused := check_arrange(before, cmd, meta):
        return refused
    return arrange_pickup(before, cmd, meta, awb=uow.airway_bill(meta.cause_key))


def _request(cmd: c.RequestCancel, meta: Meta, uow: Orders) -> Decision | Rejected:
    """`pickup.cancel.requested`: the seller asks to cancel; the order waits for an admin."""
    # Message ids are unique per producer (source), so the request id is derived from both.
    request_id = derive_id(meta.cause_key, "pickup.cancel.request")
    before = uow.order(meta.tenant_id, cmd.order_id)
    return request_cancel(before, cmd, meta, request_id=request_id)


def _decide(cmd: c.DecideCancel, meta: Meta, uow: Orders) -> Decision | Rejected:
    """`pickup.cancel.decide`: a pickup admin approves or rejects the open request."""
    return decide_cancel(uow.order(meta.tenant_id, cmd.order_id), cmd, meta, void=uow.void_bill)


def _status(cmd: c.UpdateStatus, meta: Meta, uow: Orders) -> Decision | Rejected:
    """`pickup.status`: the courier's progress; a status for a voided bill changes nothing."""
    return update_status(uow.order(meta.tenant_id, cmd.order_id), cmd, meta)


def _retry(cmd: c.RetryVoid, meta: Meta, uow: Orders) -> Decision | Rejected:
    """`pickup.void.retry`: an admin asks the courier again to void a bill whose void failed."""
    return retry_void(uow.order(meta.tenant_id, cmd.order_id), cmd, meta, void=uow.void_bill)


def _mark(cmd: c.MarkVoided, meta: Meta, uow: Orders) -> Decision | Rejected:
    """`pickup.void.mark`: an admin records that the bill was voided outside lunas."""
    return mark_voided(uow.order(meta.tenant_id, cmd.order_id), cmd, meta)


# --- the declarations ---------------------------------------------------------------------------


def _order(cmd: Any) -> tuple[Name, ...]:
    return (("order", cmd.order_id),)


def _nothing(cmd: Any) -> tuple[Name, ...]:
    return ()


RULES: dict[str, Rule] = {}  # filled by ``_spec``: who may send each command type
_APPROVAL = ("pickup.cancel.decided", "pickup.void.failed", "invoice.void", "payment.release")


def _spec(
    type_: str,
    topic: str,
    kind: type[Any],
    decide: Callable[..., Any],
    emits: Iterable[str],
    *,
    waits: bool = True,
    who: Rule = ANYONE,
) -> CommandSpec[Any, Orders]:
    RULES[type_] = who

    def policy(cmd: Any, meta: Meta, uow: Orders) -> Rejected | None:
        return who.check(meta, uow.admins)

    return CommandSpec(
        type=type_,
        topic=topic,
        wire=WIRE[type_],
        translate=translate_by_name(kind),
        decide=decide,
        emits=frozenset(emits),
        loads=_order,
        # Its pickup.arrange may still be on its way; a retry or a mark is for an order that
        # failed a void, which exists by then.
        waits_for=_order if waits else _nothing,
        policy=policy,
    )


SPECS: tuple[CommandSpec[Any, Orders], ...] = (
    _spec(
        "pickup.arrange",
        topics.PICKUP_COMMANDS,
        c.ArrangePickup,
        _arrange,
        ["pickup.arranged"],
        waits=False,  # it creates the order
    ),
    _spec(
        "pickup.cancel.requested",
        topics.PICKUP_CANCEL_REQUESTED,
        c.RequestCancel,
        _request,
        ["pickup.cancel.pending"],
    ),
    _spec(
        "pickup.cancel.decide",
        topics.PICKUP_COMMANDS,
        c.DecideCancel,
        _decide,
        _APPROVAL,
        who=admin("approve or reject pickup cancellations"),
    ),
    _spec(
        "pickup.status",
        topics.PICKUP_COMMANDS,
        c.UpdateStatus,
        _status,
        ["pickup.status.updated", "pickup.cancel.decided"],
    ),
    _spec(
        "pickup.void.retry",
        topics.PICKUP_COMMANDS,
        c.RetryVoid,
        _retry,
        _APPROVAL,
        waits=False,
        who=admin("retry or record the void of an airway bill"),
    ),
    _spec(
        "pickup.void.mark",
        topics.PICKUP_COMMANDS,
        c.MarkVoided,
        _mark,
        _APPROVAL,
        waits=False,
        who=admin("retry or record the void of an airway bill"),
    ),
)


# --- what is derived from them ------------------------------------------------------------------


def _accept(uow: Orders, ctx: MessageContext, decision: Decision) -> Outcome:
    """Stage the decided order and turn its events and payment commands into messages."""
    uow.stage(decision.order)
    messages = [_event(ctx, decision, event) for event in decision.events]
    messages += payment_commands(decision, cause=ctx.message, source=ctx.source, now=ctx.now)
    return Accepted(tuple(messages))


def _event_types(decision: Decision) -> Iterable[str]:
    yield from (event.type for event in decision.events)
    yield from (command.type for command in decision.derived_commands)


TABLE: CommandTable[Any] = CommandTable(SPECS, accept=_accept, event_types=_event_types)
HANDLERS: Mapping[str, Handler[Any]] = TABLE.handlers


def _event(ctx: MessageContext, decision: Decision, event: PickupEvent) -> Outgoing:
    topic, data = event_message(decision, event)
    return ctx.event(topic, event.type, data, subject=subject_of(event.type, data))


def event_message(decision: Decision, event: PickupEvent) -> tuple[str, dict[str, object]]:
    """The topic and wire ``data`` of a decided event."""
    data = asdict(event)
    if isinstance(event, PickupArranged):
        # The wire event repeats when the courier comes; the domain keeps it on the order.
        data["pickup_at"] = decision.order.pickup_at
    if isinstance(event, CancelDecided) and event.decision == "approve":
        # What payment_svc was asked to void and release (nothing, for an order without them),
        # so a text can say plainly when there was nothing to void.
        asked = decision.derived_commands
        billing: dict[str, object] = {
            "payment_nos": [c.payment_no for c in asked if isinstance(c, ReleasePayment)]
        }
        voids = [c.invoice_no for c in asked if isinstance(c, VoidInvoice)]
        if voids:
            billing["invoice_no"] = voids[0]
        data["billing"] = billing
    topic = (
        topics.PICKUP_CANCEL_DECIDED if isinstance(event, CancelDecided) else topics.PICKUP_EVENTS
    )
    return topic, data


def payment_commands(
    decision: Decision, *, cause: Envelope, source: str, now: datetime
) -> list[Outgoing]:
    """`invoice.void` / `payment.release` of an approval, with ids derived from the request id.

    One cancellation request can only be approved once, so whichever decide command approves it,
    and however often it is redelivered, the same ids come out and payment_svc dedupes them.
    """
    if not decision.derived_commands:
        return []
    approvals = [
        e for e in decision.events if isinstance(e, CancelDecided) and e.decision == "approve"
    ]
    if len(approvals) != 1:
        raise RuntimeError("payment commands without exactly one approval to derive their ids")
    request_id = approvals[0].request_id
    out = []
    for command in decision.derived_commands:
        data = asdict(command)
        out.append(
            Outgoing(
                topics.PAYMENT_COMMANDS,
                make_event(
                    command.type,
                    data,
                    id=derive_id(request_id, command.key),
                    source=source,
                    time=now,
                    tenantid=cause.tenantid,
                    subject=subject_of(command.type, data),
                    cause=cause,
                    actor=PICKUP_ACTOR,
                ),
            )
        )
    return out


def authorize(command_type: str, meta: Meta, admins: frozenset[str]) -> Rejected | None:
    """The rule ``command_type``'s spec names, applied (what ``TABLE`` checks first)."""
    return RULES[command_type].check(meta, admins)
