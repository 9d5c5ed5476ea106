"""Malformed commands are refused with `invalid` or `conflict` and the order stays as it was."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.pickup_svc.domain.commands import ArrangePickup, RequestCancel
from services.pickup_svc.domain.model import OrderState
from services.pickup_svc.domain.services import (
    arrange_pickup,
    check_arrange,
    request_cancel,
    update_status,
)
from tests.unit.pickup.builders import (
    ADMIN,
    ADMINS,
    FIRST_AWB,
    accepted,
    arrange_cmd,
    cancel_cmd,
    decide_cancel,
    decide_cmd,
    meta,
    order_in,
    refused,
    status_cmd,
    voided,
)


@pytest.mark.parametrize(
    ("cmd", "needle"),
    [
        (replace(arrange_cmd(), payment_type="card"), "payment_type"),
        (replace(arrange_cmd(), courier=" "), "courier"),
        (replace(arrange_cmd(), order_id=""), "order_id"),
        (replace(arrange_cmd(), order_id=" SO-1"), "order_id"),
        (arrange_cmd(invoice_no=None, payment_nos=("P1",)), "invoice_no"),
        (arrange_cmd(payment_nos=("P1", "P1")), "more than once"),
        (arrange_cmd(payment_nos=("P1", "")), "payment_no"),
    ],
)
def test_bad_arrangement_is_invalid(cmd: ArrangePickup, needle: str) -> None:
    result = refused(arrange_pickup(None, cmd, meta(), awb="JNE-X"))

    assert result.code == "invalid"
    assert needle in result.message
    assert check_arrange(None, cmd, meta()) == result


def test_check_arrange_passes_exactly_when_only_the_bill_is_missing() -> None:
    assert check_arrange(None, arrange_cmd(), meta()) is None
    cod = ArrangePickup(order_id="SO-1", courier="sicepat", payment_type="cod")
    assert check_arrange(None, cod, meta()) is None
    assert accepted(arrange_pickup(None, cod, meta(), awb="SC-1")).order.payment_type == "cod"


def test_a_bill_already_used_by_the_order_is_a_conflict() -> None:
    cancelled = order_in(OrderState.PICKUP_CANCELLED)

    result = refused(arrange_pickup(cancelled, arrange_cmd(), meta(minute=9), awb=FIRST_AWB))

    assert result.code == "conflict"
    assert FIRST_AWB in result.message


def test_an_empty_bill_from_the_gateway_is_refused() -> None:
    assert refused(arrange_pickup(None, arrange_cmd(), meta(), awb="")).code == "invalid"


@pytest.mark.parametrize(
    ("cmd", "needle"),
    [
        (cancel_cmd(""), "reason is required"),
        (cancel_cmd("   \n "), "reason is required"),
        (cancel_cmd("x" * 501), "at most 500"),
        (RequestCancel(order_id="SO-1", reason="ok", origin="app"), "origin"),
        (RequestCancel(order_id="SO-1", reason="ok", origin="order", reason_code="c" * 65), "64"),
    ],
)
def test_bad_cancel_request_is_invalid(cmd: RequestCancel, needle: str) -> None:
    order = order_in(OrderState.PICKUP_REQUESTED)

    result = refused(request_cancel(order, cmd, meta(minute=5), request_id="R9"))

    assert result.code == "invalid"
    assert needle in result.message


def test_reason_is_trimmed_and_500_characters_are_allowed() -> None:
    order = order_in(OrderState.PICKUP_REQUESTED)
    reason = "a" * 500

    decision = accepted(
        request_cancel(order, cancel_cmd(f"  {reason}\t"), meta(minute=5), request_id="R9")
    )

    assert decision.order.cancel_requests[-1].reason == reason


def test_reason_code_and_invoice_origin_are_kept() -> None:
    order = order_in(OrderState.PICKUP_REQUESTED)
    cmd = RequestCancel(order_id="SO-1", reason="dup", origin="invoice", reason_code=" dup_order ")

    decision = accepted(request_cancel(order, cmd, meta(minute=5), request_id="R9"))

    request = decision.order.cancel_requests[-1]
    assert (request.origin, request.reason_code) == ("invoice", "dup_order")


def test_reusing_a_request_id_of_the_order_is_a_conflict() -> None:
    order = order_in(OrderState.CANCEL_PENDING)
    reject = decide_cmd("reject", "no")
    order = accepted(
        decide_cancel(order, reject, meta(ADMIN, minute=5), admins=ADMINS, void=voided)
    ).order

    result = refused(request_cancel(order, cancel_cmd(), meta(minute=6), request_id="REQ-1"))

    assert result.code == "conflict"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_rejecting_needs_a_reason_for_the_seller(reason: str | None) -> None:
    order = order_in(OrderState.CANCEL_PENDING)

    result = refused(
        decide_cancel(
            order, decide_cmd("reject", reason), meta(ADMIN, minute=5), admins=ADMINS, void=voided
        )
    )

    assert result.code == "invalid"
    assert "reason" in result.message


def test_unknown_decision_is_invalid() -> None:
    order = order_in(OrderState.CANCEL_PENDING)

    result = refused(
        decide_cancel(order, decide_cmd("maybe"), meta(ADMIN, minute=5), admins=ADMINS, void=voided)
    )

    assert result.code == "invalid"


def test_unknown_courier_status_is_invalid() -> None:
    order = order_in(OrderState.PICKUP_REQUESTED)

    result = refused(update_status(order, status_cmd("lost", FIRST_AWB), meta("system:jne")))

    assert result.code == "invalid"


def test_status_for_a_bill_the_order_never_had_is_ignored() -> None:
    order = order_in(OrderState.PICKUP_REQUESTED)

    result = accepted(update_status(order, status_cmd("picked_up", "OTHER-9"), meta("system:jne")))

    assert result.events == ()
    assert result.order == order
