"""Seed 002 end to end in the domain: arrange, cancel, approve or reject, arrange again."""

from __future__ import annotations

from dataclasses import asdict

from services.common.runtime.seam import subject_of
from services.pickup_svc.domain.events import (
    CancelDecided,
    CancelPending,
    PickupArranged,
    ReleasePayment,
    StatusUpdated,
    VoidInvoice,
)
from services.pickup_svc.domain.model import BillStatus, OrderState
from services.pickup_svc.domain.services import (
    COURIER_ACTOR,
    COURIER_PICKED_UP_REASON,
    arrange_pickup,
    request_cancel,
    update_status,
)
from tests.unit.pickup.builders import (
    ADMIN,
    ADMINS,
    ORDER,
    SELLER,
    accepted,
    arrange_cmd,
    cancel_cmd,
    decide_cancel,
    decide_cmd,
    meta,
    refused,
    status_cmd,
    voided,
)


def test_approved_cancellation_voids_bill_invoice_and_releases_payment_then_rearranges() -> None:
    arranged = accepted(
        arrange_pickup(
            None, arrange_cmd(invoice_no="I1", payment_nos=("P1",)), meta(minute=1), awb="JNE-A"
        )
    )
    assert arranged.events == (
        PickupArranged(
            order_id=ORDER, awb="JNE-A", previous_awb=None, courier="jne", payment_type="prepaid"
        ),
    )

    pending = accepted(
        request_cancel(
            arranged.order, cancel_cmd("  wrong address  "), meta(minute=2), request_id="R1"
        )
    )
    assert pending.order.state is OrderState.CANCEL_PENDING
    assert pending.events == (
        CancelPending(
            request_id="R1",
            order_id=ORDER,
            reason="wrong address",
            reason_code=None,
            origin="order",
            requested_by=SELLER,
        ),
    )

    approve = decide_cmd("approve", "approved, courier informed")
    decided = accepted(
        decide_cancel(pending.order, approve, meta(ADMIN, minute=3), admins=ADMINS, void=voided)
    )
    order = decided.order
    assert order.state is OrderState.PICKUP_CANCELLED
    assert order.active_bill is None
    assert [(b.awb, b.status) for b in order.airway_bills] == [("JNE-A", BillStatus.VOIDED)]
    (event,) = decided.events
    assert isinstance(event, CancelDecided)
    assert event.decision == "approve"
    assert event.reason == "approved, courier informed"
    assert event.requested_reason == "wrong address"
    assert event.requested_by == SELLER
    assert event.decided_by == ADMIN
    assert event.decided_at == meta(minute=3).at
    assert event.voided_awb == "JNE-A"
    assert [(type(c), subject_of(c.type, asdict(c))) for c in decided.derived_commands] == [
        (VoidInvoice, "I1"),
        (ReleasePayment, "P1"),
    ]
    release = decided.derived_commands[1]
    assert isinstance(release, ReleasePayment)
    assert release.invoice_no == "I1"
    assert "approved, courier informed" in release.reason

    again = accepted(
        arrange_pickup(
            order, arrange_cmd(invoice_no="I2", payment_nos=()), meta(minute=4), awb="JNE-B"
        )
    )
    (rearranged,) = again.events
    assert isinstance(rearranged, PickupArranged)
    assert (rearranged.awb, rearranged.previous_awb) == ("JNE-B", "JNE-A")
    assert again.order.state is OrderState.PICKUP_REQUESTED
    assert again.order.active_bill is not None and again.order.active_bill.awb == "JNE-B"
    assert [(b.awb, b.status) for b in again.order.airway_bills] == [
        ("JNE-A", BillStatus.VOIDED),
        ("JNE-B", BillStatus.ASSIGNED),
    ]
    # The re-arrangement carries the order's new invoice and payments.
    assert (again.order.invoice_no, again.order.payment_nos) == ("I2", ())


def test_rejection_keeps_the_bill_and_the_seller_may_ask_again() -> None:
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb="JNE-A")).order
    order = accepted(request_cancel(order, cancel_cmd(), meta(minute=2), request_id="R1")).order

    reject = decide_cmd("reject", "  the courier is already at the warehouse  ")
    decided = accepted(
        decide_cancel(order, reject, meta(ADMIN, minute=3), admins=ADMINS, void=voided)
    )

    (event,) = decided.events
    assert isinstance(event, CancelDecided)
    assert (event.decision, event.reason) == ("reject", "the courier is already at the warehouse")
    assert event.voided_awb is None
    assert decided.derived_commands == ()
    assert decided.order.state is OrderState.PICKUP_REQUESTED
    assert decided.order.active_bill is not None and decided.order.active_bill.awb == "JNE-A"

    second = accepted(
        request_cancel(decided.order, cancel_cmd("please"), meta(minute=4), request_id="R2")
    )
    assert second.order.state is OrderState.CANCEL_PENDING
    assert [(r.request_id, r.decision) for r in second.order.cancel_requests] == [
        ("R1", "reject"),
        ("R2", None),
    ]


def test_non_admin_decision_is_forbidden_and_changes_nothing() -> None:
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb="JNE-A")).order
    order = accepted(request_cancel(order, cancel_cmd(), meta(minute=2), request_id="R1")).order

    result = refused(
        decide_cancel(
            order, decide_cmd("approve"), meta(SELLER, minute=3), admins=ADMINS, void=voided
        )
    )

    assert result.code == "forbidden"
    # The admin can still decide afterwards: the pending request is untouched.
    still = accepted(
        decide_cancel(
            order, decide_cmd("approve"), meta(ADMIN, minute=4), admins=ADMINS, void=voided
        )
    )
    assert still.order.state is OrderState.PICKUP_CANCELLED


def test_cancel_after_pickup_is_refused_in_words_a_seller_understands() -> None:
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb="JNE-A")).order
    order = accepted(
        update_status(order, status_cmd("picked_up", "JNE-A"), meta("system:jne", minute=2))
    ).order

    result = refused(request_cancel(order, cancel_cmd(), meta(minute=3), request_id="R1"))

    assert result.code == "invalid_state"
    assert result.message == (
        f"order {ORDER} was picked up by the courier; its pickup can no longer be cancelled"
    )


def test_pickup_while_cancel_pending_closes_the_request_as_rejected_by_the_courier() -> None:
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb="JNE-A")).order
    order = accepted(request_cancel(order, cancel_cmd(), meta(minute=2), request_id="R1")).order

    result = accepted(
        update_status(order, status_cmd("picked_up", "JNE-A"), meta("system:jne", minute=3))
    )

    closed, moved = result.events
    assert isinstance(closed, CancelDecided)
    assert (closed.request_id, closed.decision) == ("R1", "reject")
    assert (closed.decided_by, closed.reason) == (COURIER_ACTOR, COURIER_PICKED_UP_REASON)
    assert moved == StatusUpdated(order_id=ORDER, awb="JNE-A", status="picked_up")
    assert result.order.state is OrderState.PICKED_UP
    assert result.order.open_request is None
    assert result.derived_commands == ()
    # The admin's later decision finds nothing to decide.
    late = decide_cancel(
        result.order, decide_cmd("approve"), meta(ADMIN, minute=4), admins=ADMINS, void=voided
    )
    assert refused(late).code == "invalid_state"


def test_status_for_a_voided_bill_is_ignored_after_rearranging() -> None:
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb="JNE-A")).order
    order = accepted(request_cancel(order, cancel_cmd(), meta(minute=2), request_id="R1")).order
    approve = decide_cmd("approve")
    order = accepted(
        decide_cancel(order, approve, meta(ADMIN, minute=3), admins=ADMINS, void=voided)
    ).order
    order = accepted(arrange_pickup(order, arrange_cmd(), meta(minute=4), awb="JNE-B")).order

    stale = accepted(
        update_status(order, status_cmd("picked_up", "JNE-A"), meta("system:jne", minute=5))
    )

    assert stale.events == ()
    assert stale.order == order
    assert stale.order.airway_bills[0].status is BillStatus.VOIDED


def test_events_serialise_to_the_contract_fields() -> None:
    order = accepted(arrange_pickup(None, arrange_cmd(), meta(minute=1), awb="JNE-A")).order
    order = accepted(request_cancel(order, cancel_cmd(), meta(minute=2), request_id="R1")).order
    decided = accepted(
        decide_cancel(
            order, decide_cmd("approve"), meta(ADMIN, minute=3), admins=ADMINS, void=voided
        )
    )

    (event,) = decided.events
    assert event.type == "pickup.cancel.decided"
    assert set(asdict(event)) == {
        "request_id",
        "order_id",
        "decision",
        "reason",
        "requested_reason",
        "requested_by",
        "decided_by",
        "decided_at",
        "voided_awb",
        "voided_by",
        "void_note",
    }
    assert [(c.type, asdict(c)["invoice_no"]) for c in decided.derived_commands] == [
        ("invoice.void", "INV-1"),
        ("payment.release", "INV-1"),
    ]
