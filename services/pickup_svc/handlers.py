"""pickup_svc's message handlers: typed command in, domain decision, stored state, messages out.

Each runs inside the runtime's transaction (`ctx.conn`), so the order, the inbox row and every
emitted message commit together. Looked up by message type in `HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas import Envelope, derive_id, make_event, topics
from schemas.pickup import PickupArrange, PickupCancelDecide, PickupCancelRequested, PickupStatus
from services.common.runtime import Accepted, Handler, HandlerContext, Outcome, Outgoing, Rejected
from services.pickup_svc.adapters.postgres import StoredOrder, awb_taken, load_order, save_order
from services.pickup_svc.courier import CourierGateway
from services.pickup_svc.domain.commands import (
    ArrangePickup,
    DecideCancel,
    Meta,
    RequestCancel,
    UpdateStatus,
)
from services.pickup_svc.domain.events import CancelDecided, PickupArranged, PickupEvent
from services.pickup_svc.domain.rules import Rejected as Refusal
from services.pickup_svc.domain.services import (
    Decision,
    arrange_pickup,
    check_arrange,
    decide_cancel,
    request_cancel,
    update_status,
)

# Keys of `ServiceSpec.extras` the handlers read; bootstrap.py fills them.
COURIER = "courier"
ADMINS = "admins"

# Who sends the payment commands an approval gives rise to.
PICKUP_ACTOR = "system:pickup"
# A fresh number from the gateway that another order already holds is asked for again, a few times.
AWB_ATTEMPTS = 3

Data = TypeVar("Data", bound=BaseModel)


def handle_arrange(msg: Envelope, ctx: HandlerContext) -> Outcome:
    """`pickup.arrange` ("Atur Pengiriman"): a first pickup, or a new one after a cancellation."""
    data = _data(msg, PickupArrange)
    cmd = ArrangePickup(
        order_id=data.order_id,
        courier=data.courier,
        payment_type=data.payment_type,
        invoice_no=data.invoice_no,
        payment_nos=tuple(data.payment_nos),
        pickup_at=data.pickup_at,
    )
    meta = _meta(msg, ctx)
    stored = load_order(ctx.conn, meta.tenant_id, cmd.order_id)
    before = stored.order if stored is not None else None
    # A refused command must not consume an airway bill from the courier.
    if refused := check_arrange(before, cmd, meta):
        return _rejected(refused)
    awb = _new_airway_bill(ctx, cmd, meta)
    return _accept(ctx, stored, arrange_pickup(before, cmd, meta, awb=awb))


def handle_cancel_requested(msg: Envelope, ctx: HandlerContext) -> Outcome:
    """`pickup.cancel.requested`: the seller asks to cancel; the order waits for an admin."""
    data = _data(msg, PickupCancelRequested)
    cmd = RequestCancel(
        order_id=data.order_id, reason=data.reason, origin=data.origin, reason_code=data.reason_code
    )
    meta = _meta(msg, ctx)
    stored = load_order(ctx.conn, meta.tenant_id, cmd.order_id)
    before = stored.order if stored is not None else None
    # Message ids are unique per producer (source), so the request id is derived from both.
    request_id = derive_id(f"{msg.tenantid}/{msg.source}/{msg.id}", "pickup.cancel.request")
    return _accept(ctx, stored, request_cancel(before, cmd, meta, request_id=request_id))


def handle_cancel_decide(msg: Envelope, ctx: HandlerContext) -> Outcome:
    """`pickup.cancel.decide`: a pickup admin approves or rejects the open request."""
    data = _data(msg, PickupCancelDecide)
    cmd = DecideCancel(order_id=data.order_id, decision=data.decision, reason=data.reason)
    meta = _meta(msg, ctx)
    stored = load_order(ctx.conn, meta.tenant_id, cmd.order_id)
    before = stored.order if stored is not None else None
    admins = _admins(ctx.extras)
    return _accept(ctx, stored, decide_cancel(before, cmd, meta, admins=admins))


def handle_status(msg: Envelope, ctx: HandlerContext) -> Outcome:
    """`pickup.status`: the courier's progress; a status for a voided bill changes nothing."""
    data = _data(msg, PickupStatus)
    cmd = UpdateStatus(order_id=data.order_id, awb=data.awb, status=data.status)
    meta = _meta(msg, ctx)
    stored = load_order(ctx.conn, meta.tenant_id, cmd.order_id)
    before = stored.order if stored is not None else None
    return _accept(ctx, stored, update_status(before, cmd, meta))


HANDLERS: Mapping[str, Handler] = {
    "pickup.arrange": handle_arrange,
    "pickup.cancel.requested": handle_cancel_requested,
    "pickup.cancel.decide": handle_cancel_decide,
    "pickup.status": handle_status,
}


# --- shared steps ---------------------------------------------------------------------------


def _accept(
    ctx: HandlerContext, stored: StoredOrder | None, outcome: Decision | Refusal
) -> Outcome:
    """Store the decided order and turn its events and payment commands into messages."""
    if isinstance(outcome, Refusal):
        return _rejected(outcome)
    save_order(ctx.conn, stored, outcome.order, at=ctx.now)
    messages = [_event(ctx, outcome, event) for event in outcome.events]
    messages += _payment_commands(ctx, outcome)
    return Accepted(tuple(messages))


def _event(ctx: HandlerContext, decision: Decision, event: PickupEvent) -> Outgoing:
    data = asdict(event)
    if isinstance(event, PickupArranged):
        # The wire event repeats when the courier comes; the domain keeps it on the order.
        data["pickup_at"] = decision.order.pickup_at
    topic = (
        topics.PICKUP_CANCEL_DECIDED if isinstance(event, CancelDecided) else topics.PICKUP_EVENTS
    )
    return ctx.event(topic, event.type, data, subject=event.subject)


def _payment_commands(ctx: HandlerContext, decision: Decision) -> list[Outgoing]:
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
    cause = ctx.message
    return [
        Outgoing(
            topics.PAYMENT_COMMANDS,
            make_event(
                command.type,
                asdict(command),
                id=derive_id(request_id, command.key),
                source=ctx.source,
                time=ctx.now,
                tenantid=cause.tenantid,
                subject=command.subject,
                cause=cause,
                actor=PICKUP_ACTOR,
            ),
        )
        for command in decision.derived_commands
    ]


def _new_airway_bill(ctx: HandlerContext, cmd: ArrangePickup, meta: Meta) -> str:
    gateway = _courier(ctx.extras)
    for _ in range(AWB_ATTEMPTS):
        awb = gateway.new_airway_bill(
            courier=cmd.courier, order_id=cmd.order_id, tenant_id=meta.tenant_id
        )
        if not awb_taken(ctx.conn, awb):
            return awb
    # Not a refusal the seller could act on: the gateway is broken, so the message is parked.
    raise RuntimeError(f"the courier gateway returned {AWB_ATTEMPTS} airway bills already in use")


def _rejected(refusal: Refusal) -> Rejected:
    return Rejected(refusal.code, refusal.message)


def _meta(msg: Envelope, ctx: HandlerContext) -> Meta:
    # The codec refuses a command without an actor, so "" is never seen in practice.
    return Meta(tenant_id=msg.tenantid, actor=msg.actor or "", command_id=msg.id, at=ctx.now)


def _data(msg: Envelope, model: type[Data]) -> Data:
    data = msg.data
    if not isinstance(data, model):
        raise TypeError(f"{msg.type} carries {type(data).__name__}, expected {model.__name__}")
    return data


def _courier(extras: Mapping[str, Any]) -> CourierGateway:
    gateway: CourierGateway = extras[COURIER]
    return gateway


def _admins(extras: Mapping[str, Any]) -> frozenset[str]:
    admins = extras[ADMINS]
    if not isinstance(admins, frozenset):
        raise TypeError(f"extras[{ADMINS!r}] must be a frozenset of admin ids")
    return frozenset(str(a) for a in admins)
