"""Field checks and refusal wording shared by the pickup service functions.

Refusals are values (`Rejected`) whose messages a seller or admin can act on.
"""

from __future__ import annotations

from services.common.domain import ADMIN_PREFIX as ADMIN_PREFIX
from services.common.domain import RejectCode as RejectCode
from services.common.domain import Rejected as Rejected
from services.common.domain import is_admin as is_admin
from services.pickup_svc.domain.model import WITH_COURIER, Order, OrderState

MAX_ID_CHARS = 128
MAX_REASON_CHARS = 500
MAX_REASON_CODE_CHARS = 64


def find_order(order: Order | None, order_id: str, tenant_id: str) -> Order | Rejected:
    """The order the command is about; another tenant's order is reported as missing, not leaked."""
    if order is None or order.tenant_id != tenant_id or order.order_id != order_id:
        return Rejected("not_found", f"order {order_id} not found")
    return order


def check_id(value: str | None, field: str) -> Rejected | None:
    """Ids are matched exactly, so surrounding blanks are refused rather than silently trimmed."""
    if not value or not value.strip():
        return Rejected("invalid", f"{field} is required")
    if value != value.strip():
        return Rejected("invalid", f"{field} {value!r} must not start or end with spaces")
    if len(value) > MAX_ID_CHARS:
        return Rejected("invalid", f"{field} is longer than {MAX_ID_CHARS} characters")
    return None


def clean_text(value: str | None, field: str, *, max_chars: int) -> str | Rejected | None:
    """Trimmed text, None when blank, or a refusal when too long."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > max_chars:
        return Rejected(
            "invalid", f"{field} is {len(text)} characters long; at most {max_chars} are allowed"
        )
    return text


def required_reason(value: str | None, why: str) -> str | Rejected:
    text = clean_text(value, "reason", max_chars=MAX_REASON_CHARS)
    if text is None:
        return Rejected("invalid", f"a reason is required {why}")
    return text


def one_of(value: str, allowed: frozenset[str], field: str) -> Rejected | None:
    if value in allowed:
        return None
    choices = ", ".join(sorted(allowed))
    return Rejected("invalid", f"{field} must be one of {choices}, not {value!r}")


def picked_up_message(order: Order) -> str:
    return (
        f"order {order.order_id} was picked up by the courier; "
        "its pickup can no longer be cancelled"
    )


def cannot_arrange(order: Order) -> Rejected:
    oid = order.order_id
    bill = order.active_bill
    if order.state is OrderState.PICKUP_REQUESTED and bill is not None:
        message = (
            f"order {oid} already has a pickup arranged with airway bill {bill.awb}; "
            "cancel that pickup before arranging a new one"
        )
    elif order.state is OrderState.VOID_FAILED and bill is not None:
        message = _void_failed_message(order, bill.awb)
    elif order.state is OrderState.CANCEL_PENDING:
        message = (
            f"the pickup of order {oid} has a cancellation waiting for an admin decision; "
            "shipping can be arranged again once it is approved"
        )
    else:
        message = f"order {oid} was picked up by the courier; shipping cannot be arranged again"
    return Rejected("invalid_state", message)


def cannot_request_cancel(order: Order) -> Rejected:
    oid = order.order_id
    pending = order.open_request
    if order.state is OrderState.CANCEL_PENDING and pending is not None:
        message = (
            f"order {oid} already has a cancellation request ({pending.request_id}) "
            "waiting for an admin decision"
        )
    elif order.state is OrderState.READY_TO_SHIP:
        message = f"order {oid} has no pickup request to cancel; arrange shipping first"
    elif order.state is OrderState.VOID_FAILED and order.active_bill is not None:
        message = _void_failed_message(order, order.active_bill.awb)
    elif order.state is OrderState.PICKUP_CANCELLED:
        message = f"the pickup of order {oid} is already cancelled"
    else:
        message = picked_up_message(order)
    return Rejected("invalid_state", message)


def cannot_decide(order: Order) -> Rejected:
    message = f"order {order.order_id} has no cancellation request waiting for a decision"
    if order.state in WITH_COURIER:
        message += "; it was picked up by the courier"
    return Rejected("invalid_state", message)


def cannot_move(order: Order, status: str) -> Rejected:
    return Rejected(
        "invalid_state",
        f"the courier reported {status} for order {order.order_id}, "
        f"but the order is {order.state.value.replace('_', ' ')}",
    )


def _void_failed_message(order: Order, awb: str) -> str:
    return (
        f"the cancellation of order {order.order_id} was approved but the courier did not void "
        f"airway bill {awb}; an admin must retry the void or mark it voided first"
    )
