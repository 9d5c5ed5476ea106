"""pickup_svc's handlers, one small function per command type, looked up in `HANDLERS`.

Each takes the order from the batch's unit of work, asks the pure domain to decide, stages the
new order and returns the messages to publish; the runtime writes them with the inbox and the
outbox in the batch's one transaction. None of them sees SQL or calls the courier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from schemas import Envelope, derive_id, make_event, topics
from schemas.pickup import (
    PickupArrange,
    PickupCancelDecide,
    PickupCancelRequested,
    PickupStatus,
    PickupVoidMark,
    PickupVoidRetry,
)
from services.common.domain import Meta, Rejected, is_admin
from services.common.runtime import Accepted, Handler, MessageContext, Outcome, Outgoing
from services.common.runtime.seam import Await, Ref, cause_key
from services.pickup_svc.adapters.unit_of_work import PickupUnitOfWork, arrange_command
from services.pickup_svc.domain.commands import (
    DecideCancel,
    MarkVoided,
    RequestCancel,
    RetryVoid,
    UpdateStatus,
)
from services.pickup_svc.domain.events import (
    CancelDecided,
    PickupArranged,
    PickupEvent,
    ReleasePayment,
    VoidInvoice,
)
from services.pickup_svc.domain.services import (
    Decision,
    arrange_pickup,
    check_arrange,
    decide_cancel,
    request_cancel,
    update_status,
)
from services.pickup_svc.domain.voiding import mark_voided, retry_void

# Who sends the payment commands an approval gives rise to.
PICKUP_ACTOR = "system:pickup"

Data = TypeVar("Data", bound=BaseModel)
UoW = PickupUnitOfWork


def handle_arrange(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    """`pickup.arrange` ("Atur Pengiriman"): a first pickup, or a new one after a cancellation."""
    cmd = arrange_command(_data(msg, PickupArrange))
    meta = _meta(msg, ctx)
    before = uow.order(meta.tenant_id, cmd.order_id)
    # A refused command must not consume an airway bill from the courier.
    if refused := check_arrange(before, cmd, meta):
        return refused
    return _accept(uow, ctx, arrange_pickup(before, cmd, meta, awb=uow.airway_bill(msg)))


def handle_cancel_requested(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    """`pickup.cancel.requested`: the seller asks to cancel; the order waits for an admin."""
    data = _data(msg, PickupCancelRequested)
    cmd = RequestCancel(
        order_id=data.order_id, reason=data.reason, origin=data.origin, reason_code=data.reason_code
    )
    meta = _meta(msg, ctx)
    before = uow.order(meta.tenant_id, cmd.order_id)
    if before is None and ctx.may_wait:  # its pickup.arrange may still be on its way
        return _await_order(meta, cmd.order_id)
    # Message ids are unique per producer (source), so the request id is derived from both.
    request_id = derive_id(cause_key(msg), "pickup.cancel.request")
    return _accept(uow, ctx, request_cancel(before, cmd, meta, request_id=request_id))


def handle_cancel_decide(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    """`pickup.cancel.decide`: a pickup admin approves or rejects the open request."""
    data = _data(msg, PickupCancelDecide)
    cmd = DecideCancel(order_id=data.order_id, decision=data.decision, reason=data.reason)
    meta = _meta(msg, ctx)
    before = uow.order(meta.tenant_id, cmd.order_id)
    # Authorisation first: a non-admin's decision is refused at once, it never waits.
    if before is None and ctx.may_wait and is_admin(meta.actor, uow.admins):
        return _await_order(meta, cmd.order_id)
    return _accept(
        uow, ctx, decide_cancel(before, cmd, meta, admins=uow.admins, void=uow.void_bill)
    )


def handle_status(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    """`pickup.status`: the courier's progress; a status for a voided bill changes nothing."""
    data = _data(msg, PickupStatus)
    cmd = UpdateStatus(order_id=data.order_id, awb=data.awb, status=data.status)
    meta = _meta(msg, ctx)
    before = uow.order(meta.tenant_id, cmd.order_id)
    if before is None and ctx.may_wait:
        return _await_order(meta, cmd.order_id)
    return _accept(uow, ctx, update_status(before, cmd, meta))


def handle_void_retry(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    """`pickup.void.retry`: an admin asks the courier again to void a bill whose void failed."""
    cmd = RetryVoid(order_id=_data(msg, PickupVoidRetry).order_id)
    meta = _meta(msg, ctx)
    before = uow.order(meta.tenant_id, cmd.order_id)
    return _accept(uow, ctx, retry_void(before, cmd, meta, admins=uow.admins, void=uow.void_bill))


def handle_void_mark(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    """`pickup.void.mark`: an admin records that the bill was voided outside lunas."""
    data = _data(msg, PickupVoidMark)
    cmd = MarkVoided(order_id=data.order_id, reason=data.reason)
    meta = _meta(msg, ctx)
    before = uow.order(meta.tenant_id, cmd.order_id)
    return _accept(uow, ctx, mark_voided(before, cmd, meta, admins=uow.admins))


HANDLERS: Mapping[str, Handler[UoW]] = {
    "pickup.arrange": handle_arrange,
    "pickup.cancel.requested": handle_cancel_requested,
    "pickup.cancel.decide": handle_cancel_decide,
    "pickup.status": handle_status,
    "pickup.void.retry": handle_void_retry,
    "pickup.void.mark": handle_void_mark,
}


# --- shared steps ---------------------------------------------------------------------------


def _await_order(meta: Meta, order_id: str) -> Await:
    return Await((Ref("order", meta.tenant_id, order_id),))


def _accept(uow: UoW, ctx: MessageContext, outcome: Decision | Rejected) -> Outcome:
    """Stage the decided order and turn its events and payment commands into messages."""
    if isinstance(outcome, Rejected):
        return outcome
    uow.stage(outcome.order)
    messages = [_event(ctx, outcome, event) for event in outcome.events]
    messages += _payment_commands(ctx, outcome)
    return Accepted(tuple(messages))


def _event(ctx: MessageContext, decision: Decision, event: PickupEvent) -> Outgoing:
    topic, data = event_message(decision, event)
    return ctx.event(topic, event.type, data, subject=event.subject)


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


def _payment_commands(ctx: MessageContext, decision: Decision) -> list[Outgoing]:
    """`invoice.void` / `payment.release` of an approval, with ids derived from the request id.

    One cancellation request can only be approved once, so whichever decide command approves it,
    and however often it is redelivered, the same ids come out and payment_svc dedupes them.
    """
    return payment_commands(decision, cause=ctx.message, source=ctx.source, now=ctx.now)


def payment_commands(
    decision: Decision, *, cause: Envelope, source: str, now: datetime
) -> list[Outgoing]:
    """The derived payment commands of ``decision``, caused by ``cause`` (see above)."""
    if not decision.derived_commands:
        return []
    approvals = [
        e for e in decision.events if isinstance(e, CancelDecided) and e.decision == "approve"
    ]
    if len(approvals) != 1:
        raise RuntimeError("payment commands without exactly one approval to derive their ids")
    request_id = approvals[0].request_id
    return [
        Outgoing(
            topics.PAYMENT_COMMANDS,
            make_event(
                command.type,
                asdict(command),
                id=derive_id(request_id, command.key),
                source=source,
                time=now,
                tenantid=cause.tenantid,
                subject=command.subject,
                cause=cause,
                actor=PICKUP_ACTOR,
            ),
        )
        for command in decision.derived_commands
    ]


def _meta(msg: Envelope, ctx: MessageContext) -> Meta:
    # The codec refuses a command without an actor, so "" is never seen in practice.
    return Meta(tenant_id=msg.tenantid, actor=msg.actor or "", command_id=msg.id, at=ctx.now)


def _data(msg: Envelope, model: type[Data]) -> Data:
    data = msg.data
    if not isinstance(data, model):
        raise TypeError(f"{msg.type} carries {type(data).__name__}, expected {model.__name__}")
    return data
