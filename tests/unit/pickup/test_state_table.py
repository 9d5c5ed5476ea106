"""Every pickup command against an order in every state: the outcome and the state after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

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
    FIRST_AWB,
    TENANT,
    arrange_cmd,
    cancel_cmd,
    decide_cancel,
    decide_cmd,
    meta,
    order_in,
    status_cmd,
    voided,
)

S = OrderState
Run = Callable[[Order | None], Decision | Rejected]


def _arrange(order: Order | None) -> Decision | Rejected:
    return arrange_pickup(order, arrange_cmd(), meta(minute=10), awb="JNE-NEW")


def _request(order: Order | None) -> Decision | Rejected:
    return request_cancel(order, cancel_cmd(), meta(minute=10), request_id="REQ-NEW")


def _approve(order: Order | None) -> Decision | Rejected:
    cmd = decide_cmd("approve", "ok to cancel")
    return decide_cancel(order, cmd, meta(ADMIN, minute=10), admins=ADMINS, void=voided)


def _reject(order: Order | None) -> Decision | Rejected:
    cmd = decide_cmd("reject", "courier already on the way")
    return decide_cancel(order, cmd, meta(ADMIN, minute=10), admins=ADMINS, void=voided)


def _status(status: str) -> Run:
    def run(order: Order | None) -> Decision | Rejected:
        # FIRST_AWB is the live bill, or the voided one once the pickup was cancelled.
        return update_status(order, status_cmd(status, FIRST_AWB), meta("system:jne", minute=10))

    return run


COMMANDS: dict[str, Run] = {
    "arrange": _arrange,
    "request_cancel": _request,
    "approve": _approve,
    "reject": _reject,
    "picked_up": _status("picked_up"),
    "in_transit": _status("in_transit"),
    "delivered": _status("delivered"),
}

IGNORED = "ignored"
ARRANGED = (S.PICKUP_REQUESTED, ("pickup.arranged",))
PENDING = (S.CANCEL_PENDING, ("pickup.cancel.pending",))
CANCELLED = (S.PICKUP_CANCELLED, ("pickup.cancel.decided",))
RESUMED = (S.PICKUP_REQUESTED, ("pickup.cancel.decided",))


def _moved(state: OrderState) -> tuple[OrderState, tuple[str, ...]]:
    return (state, ("pickup.status.updated",))


# (state before, command) -> rejection code | IGNORED | (state after, event types)
EXPECTED: dict[tuple[OrderState | None, str], object] = {
    (None, "arrange"): ARRANGED,
    (None, "request_cancel"): "not_found",
    (None, "approve"): "not_found",
    (None, "reject"): "not_found",
    (None, "picked_up"): "not_found",
    (None, "in_transit"): "not_found",
    (None, "delivered"): "not_found",
    (S.READY_TO_SHIP, "arrange"): ARRANGED,
    (S.READY_TO_SHIP, "request_cancel"): "invalid_state",
    (S.READY_TO_SHIP, "approve"): "invalid_state",
    (S.READY_TO_SHIP, "reject"): "invalid_state",
    (S.READY_TO_SHIP, "picked_up"): IGNORED,
    (S.READY_TO_SHIP, "in_transit"): IGNORED,
    (S.READY_TO_SHIP, "delivered"): IGNORED,
    (S.PICKUP_REQUESTED, "arrange"): "invalid_state",
    (S.PICKUP_REQUESTED, "request_cancel"): PENDING,
    (S.PICKUP_REQUESTED, "approve"): "invalid_state",
    (S.PICKUP_REQUESTED, "reject"): "invalid_state",
    (S.PICKUP_REQUESTED, "picked_up"): _moved(S.PICKED_UP),
    (S.PICKUP_REQUESTED, "in_transit"): "invalid_state",
    (S.PICKUP_REQUESTED, "delivered"): "invalid_state",
    (S.CANCEL_PENDING, "arrange"): "invalid_state",
    (S.CANCEL_PENDING, "request_cancel"): "invalid_state",
    (S.CANCEL_PENDING, "approve"): CANCELLED,
    (S.CANCEL_PENDING, "reject"): RESUMED,
    (S.CANCEL_PENDING, "picked_up"): (
        S.PICKED_UP,
        ("pickup.cancel.decided", "pickup.status.updated"),
    ),
    (S.CANCEL_PENDING, "in_transit"): "invalid_state",
    (S.CANCEL_PENDING, "delivered"): "invalid_state",
    # Approved, but the courier did not void the bill: nothing moves but a retry or a mark.
    (S.VOID_FAILED, "arrange"): "invalid_state",
    (S.VOID_FAILED, "request_cancel"): "invalid_state",
    (S.VOID_FAILED, "approve"): "invalid_state",
    (S.VOID_FAILED, "reject"): "invalid_state",
    (S.VOID_FAILED, "picked_up"): "invalid_state",
    (S.VOID_FAILED, "in_transit"): "invalid_state",
    (S.VOID_FAILED, "delivered"): "invalid_state",
    (S.PICKUP_CANCELLED, "arrange"): ARRANGED,
    (S.PICKUP_CANCELLED, "request_cancel"): "invalid_state",
    (S.PICKUP_CANCELLED, "approve"): "invalid_state",
    (S.PICKUP_CANCELLED, "reject"): "invalid_state",
    (S.PICKUP_CANCELLED, "picked_up"): IGNORED,
    (S.PICKUP_CANCELLED, "in_transit"): IGNORED,
    (S.PICKUP_CANCELLED, "delivered"): IGNORED,
    (S.PICKED_UP, "arrange"): "invalid_state",
    (S.PICKED_UP, "request_cancel"): "invalid_state",
    (S.PICKED_UP, "approve"): "invalid_state",
    (S.PICKED_UP, "reject"): "invalid_state",
    (S.PICKED_UP, "picked_up"): IGNORED,
    (S.PICKED_UP, "in_transit"): _moved(S.IN_TRANSIT),
    (S.PICKED_UP, "delivered"): _moved(S.DELIVERED),
    (S.IN_TRANSIT, "arrange"): "invalid_state",
    (S.IN_TRANSIT, "request_cancel"): "invalid_state",
    (S.IN_TRANSIT, "approve"): "invalid_state",
    (S.IN_TRANSIT, "reject"): "invalid_state",
    (S.IN_TRANSIT, "picked_up"): "invalid_state",
    (S.IN_TRANSIT, "in_transit"): IGNORED,
    (S.IN_TRANSIT, "delivered"): _moved(S.DELIVERED),
    (S.DELIVERED, "arrange"): "invalid_state",
    (S.DELIVERED, "request_cancel"): "invalid_state",
    (S.DELIVERED, "approve"): "invalid_state",
    (S.DELIVERED, "reject"): "invalid_state",
    (S.DELIVERED, "picked_up"): "invalid_state",
    (S.DELIVERED, "in_transit"): "invalid_state",
    (S.DELIVERED, "delivered"): IGNORED,
}

ALL_STATES: list[OrderState | None] = [None, *OrderState]


def test_the_table_covers_every_command_in_every_state() -> None:
    assert set(EXPECTED) == {(state, name) for state in ALL_STATES for name in COMMANDS}


@pytest.mark.parametrize(
    ("state", "command"),
    list(EXPECTED),
    ids=[f"{state.value if state else 'unknown'}-{name}" for state, name in EXPECTED],
)
def test_command_in_state(state: OrderState | None, command: str) -> None:
    before = order_in(state)
    result = COMMANDS[command](before)
    expected = EXPECTED[(state, command)]

    if isinstance(expected, str) and expected != IGNORED:
        assert isinstance(result, Rejected)
        assert result.code == expected
        assert result.message
        return
    assert isinstance(result, Decision), result
    if expected == IGNORED:
        assert result.order == before
        assert result.events == ()
        assert result.derived_commands == ()
        return
    assert isinstance(expected, tuple)
    state_after, event_types = expected
    assert result.order.state is state_after
    assert tuple(event.type for event in result.events) == event_types
    assert result.order.tenant_id == TENANT


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.value if s else "unknown")
@pytest.mark.parametrize("actor", ["user:seller-42", "admin:intruder", "admin:", "system:ops-1"])
def test_only_a_listed_admin_may_decide_in_any_state(state: OrderState | None, actor: str) -> None:
    result = decide_cancel(
        order_in(state), decide_cmd("approve"), meta(actor, minute=10), admins=ADMINS, void=voided
    )

    assert isinstance(result, Rejected)
    assert result.code == "forbidden"


@pytest.mark.parametrize("state", list(OrderState), ids=lambda s: s.value)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_another_tenants_order_is_reported_missing(state: OrderState, command: str) -> None:
    order = order_in(state)
    assert order is not None
    other_tenant = replace(order, tenant_id="someone-else")

    result = COMMANDS[command](other_tenant)

    assert isinstance(result, Rejected)
    assert result.code == "not_found"
    assert "someone-else" not in result.message
