"""Invariants of the pickup aggregate over random command sequences (hypothesis)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from services.pickup_svc.domain.commands import ArrangePickup
from services.pickup_svc.domain.events import CancelDecided, ReleasePayment, VoidInvoice
from services.pickup_svc.domain.model import Order, OrderState
from services.pickup_svc.domain.services import (
    Decision,
    Rejected,
    arrange_pickup,
    request_cancel,
    update_status,
)
from tests.unit.pickup.builders import (
    ADMIN,
    ADMINS,
    ORDER,
    cancel_cmd,
    decide_cancel,
    decide_cmd,
    meta,
    status_cmd,
    voided,
)

PAYMENTS = ["P1", "P2", "P3"]


@dataclass(frozen=True)
class Arrange:
    payment_type: str
    has_invoice: bool
    payment_nos: tuple[str, ...]
    reuse_old_bill: bool  # the gateway misbehaving


@dataclass(frozen=True)
class Request:
    reason: str


@dataclass(frozen=True)
class Decide:
    decision: str
    actor: str
    reason: str | None


@dataclass(frozen=True)
class Status:
    status: str
    bill: str  # which bill the courier names: the active one, an old one, or one never issued


Op = Arrange | Request | Decide | Status

op = st.one_of(
    st.builds(
        Arrange,
        st.sampled_from(["cod", "prepaid"]),
        st.booleans(),
        st.lists(st.sampled_from(PAYMENTS), unique=True, max_size=3).map(tuple),
        st.booleans(),
    ),
    # Valid values are repeated so that long successful runs (arrange, cancel, approve, arrange
    # again) are common; the invalid ones still show up.
    st.builds(Request, st.sampled_from(["wrong address"] * 4 + ["", "x" * 501])),
    st.builds(
        Decide,
        st.sampled_from(["approve", "reject"]),
        st.sampled_from([ADMIN] * 3 + ["user:seller-42"]),
        st.sampled_from([None, "admin's reason"]),
    ),
    st.builds(
        Status,
        st.sampled_from(["picked_up", "in_transit", "delivered"]),
        st.sampled_from(["active", "old", "unknown"]),
    ),
)
ops = st.lists(op, min_size=8, max_size=40)


@dataclass
class World:
    order: Order | None = None
    used_awbs: list[str] = field(default_factory=list)
    voided: set[str] = field(default_factory=set)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _apply(world: World, op: Op, minute: int) -> Decision | Rejected:
    order = world.order
    if isinstance(op, Arrange):
        cmd = ArrangePickup(
            order_id=ORDER,
            courier="jne",
            payment_type=op.payment_type,
            invoice_no=f"INV-{minute}" if op.has_invoice else None,
            payment_nos=op.payment_nos if op.has_invoice else (),
        )
        reuse = op.reuse_old_bill and world.used_awbs
        awb = world.used_awbs[0] if reuse else f"JNE-{next(world.serial)}"
        return arrange_pickup(order, cmd, meta(minute=minute), awb=awb)
    if isinstance(op, Request):
        return request_cancel(
            order, cancel_cmd(op.reason), meta(minute=minute), request_id=f"R{minute}"
        )
    if isinstance(op, Decide):
        cmd_decide = decide_cmd(op.decision, op.reason)
        return decide_cancel(
            order, cmd_decide, meta(op.actor, minute=minute), admins=ADMINS, void=voided
        )
    active = order.active_bill if order is not None else None
    awb = {
        "active": active.awb if active is not None else "NONE",
        "old": world.used_awbs[0] if world.used_awbs else "NONE",
        "unknown": "NEVER-ISSUED",
    }[op.bill]
    return update_status(order, status_cmd(op.status, awb), meta("system:jne", minute=minute))


def _check_approval_commands(before: Order, decision: Decision) -> None:
    approvals = [
        e for e in decision.events if isinstance(e, CancelDecided) and e.decision == "approve"
    ]
    if not approvals:
        assert decision.derived_commands == ()
        return
    assert len(approvals) == 1
    voids = [c for c in decision.derived_commands if isinstance(c, VoidInvoice)]
    releases = [c for c in decision.derived_commands if isinstance(c, ReleasePayment)]
    if before.invoice_no is None:
        assert voids == [] and releases == [] and before.payment_nos == ()
        return
    assert [v.invoice_no for v in voids] == [before.invoice_no]
    assert sorted(r.payment_no for r in releases) == sorted(before.payment_nos)
    assert {r.invoice_no for r in releases} <= {before.invoice_no}
    assert before.active_bill is not None
    assert approvals[0].voided_awb == before.active_bill.awb


def _check_order(world: World, order: Order) -> None:
    open_requests = [r for r in order.cancel_requests if r.is_open]
    assert len(open_requests) <= 1
    assert (len(open_requests) == 1) == (order.state is OrderState.CANCEL_PENDING)
    for bill in order.airway_bills:
        if bill.awb in world.voided:
            assert bill.is_void, f"voided bill {bill.awb} became active again"
    active = order.active_bill
    assert active is None or active.awb not in world.voided
    awbs = [bill.awb for bill in order.airway_bills]
    assert len(awbs) == len(set(awbs))
    assert sum(1 for bill in order.airway_bills if not bill.is_void) <= 1


@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_command_sequences_keep_the_pickup_invariants(sequence: list[Op]) -> None:
    world = World()
    for minute, op in enumerate(sequence, start=1):
        before = world.order
        result = _apply(world, op, minute)
        if isinstance(result, Rejected):
            continue
        if before is not None:
            _check_approval_commands(before, result)
        order = result.order
        _check_order(world, order)
        world.voided |= {bill.awb for bill in order.airway_bills if bill.is_void}
        world.used_awbs = [bill.awb for bill in order.airway_bills]
        world.order = order
