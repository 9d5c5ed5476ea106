"""Test builders: commands, metas and orders in every state, made through the domain functions
and pickup_svc's dispatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.domain import Meta
from services.pickup_svc.adapters.memory import MemoryOrders
from services.pickup_svc.domain.commands import (
    ArrangePickup,
    DecideCancel,
    RequestCancel,
    UpdateStatus,
)
from services.pickup_svc.domain.model import AirwayBill, Order, OrderState, new_order
from services.pickup_svc.domain.services import (
    Decision,
    Rejected,
    arrange_pickup,
    request_cancel,
    update_status,
)
from services.pickup_svc.domain.voiding import VoidBill, VoidOutcome
from services.pickup_svc.handlers import TABLE

TENANT = "seller-42"
ORDER = "SO-1"
ADMINS = frozenset({"ops-1", "ops-2"})


def voided(order: Order, bill: AirwayBill) -> VoidOutcome:
    """The courier voids every bill (the default of these tests)."""
    return VoidOutcome(voided=True, answer="voided")


def not_voided(order: Order, bill: AirwayBill) -> VoidOutcome:
    """The courier refuses every void."""
    return VoidOutcome(voided=False, answer="JNE: manifest closed")


ADMIN = "admin:ops-1"
SELLER = "user:seller-42"
FIRST_AWB = "JNE-FIRST"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def meta(actor: str = SELLER, *, minute: int = 0, tenant: str = TENANT) -> Meta:
    return Meta(
        tenant_id=tenant,
        actor=actor,
        command_id=f"cmd-{minute}",
        at=T0 + timedelta(minutes=minute),
    )


def arrange_cmd(
    *, invoice_no: str | None = "INV-1", payment_nos: tuple[str, ...] = ("PAY-1",)
) -> ArrangePickup:
    return ArrangePickup(
        order_id=ORDER,
        courier="jne",
        payment_type="prepaid",
        invoice_no=invoice_no,
        payment_nos=payment_nos,
    )


def cancel_cmd(reason: str = "customer changed the delivery address") -> RequestCancel:
    return RequestCancel(order_id=ORDER, reason=reason, origin="order")


def decide_cmd(decision: str, reason: str | None = None) -> DecideCancel:
    return DecideCancel(order_id=ORDER, decision=decision, reason=reason)


def status_cmd(status: str, awb: str) -> UpdateStatus:
    return UpdateStatus(order_id=ORDER, awb=awb, status=status)


def dispatch(
    order: Order | None,
    cmd: object,
    m: Meta,
    *,
    admins: frozenset[str] = ADMINS,
    void: VoidBill = voided,
) -> Decision | Rejected:
    """``cmd`` through pickup_svc's dispatch (``handlers.TABLE``: who may send it, then the
    decision) against ``order``; nothing waits."""
    orders = MemoryOrders(admins, void=void)
    if order is not None:
        orders.stage(order)
    outcome = TABLE.decide(cmd, m, uow=orders, may_wait=False)
    assert isinstance(outcome, Decision | Rejected), outcome
    return outcome


def decide_cancel(
    order: Order | None,
    cmd: DecideCancel,
    m: Meta,
    *,
    admins: frozenset[str] = ADMINS,
    void: VoidBill = voided,
) -> Decision | Rejected:
    """`pickup.cancel.decide` through the dispatch, as pickup_svc runs it."""
    return dispatch(order, cmd, m, admins=admins, void=void)


def accepted(result: Decision | Rejected) -> Decision:
    assert isinstance(result, Decision), f"expected the command to be accepted, got {result}"
    return result


def refused(result: Decision | Rejected) -> Rejected:
    assert isinstance(result, Rejected), f"expected a rejection, got {result}"
    return result


def order_in(state: OrderState | None) -> Order | None:
    """An order of TENANT brought into `state` by the commands a user would send."""
    if state is None:
        return None
    if state is OrderState.READY_TO_SHIP:
        return new_order(TENANT, ORDER)
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb=FIRST_AWB)).order
    if state is OrderState.PICKUP_REQUESTED:
        return order
    if state in {OrderState.CANCEL_PENDING, OrderState.PICKUP_CANCELLED, OrderState.VOID_FAILED}:
        order = accepted(
            request_cancel(order, cancel_cmd(), meta(minute=2), request_id="REQ-1")
        ).order
        if state in {OrderState.PICKUP_CANCELLED, OrderState.VOID_FAILED}:
            approve = decide_cmd("approve", "courier confirmed")
            void = voided if state is OrderState.PICKUP_CANCELLED else not_voided
            order = accepted(
                decide_cancel(order, approve, meta(ADMIN, minute=3), admins=ADMINS, void=void)
            ).order
        return order
    steps = {
        OrderState.PICKED_UP: ["picked_up"],
        OrderState.IN_TRANSIT: ["picked_up", "in_transit"],
        OrderState.DELIVERED: ["picked_up", "in_transit", "delivered"],
    }[state]
    for minute, status in enumerate(steps, start=2):
        order = accepted(
            update_status(order, status_cmd(status, FIRST_AWB), meta("system:jne", minute=minute))
        ).order
    return order
