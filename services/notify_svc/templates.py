"""Every notification's wording, in Indonesian (default) and English, rendered from kind + data.

Pure: the feed API re-renders a stored notification in another locale from the same `data`. The
texts live in `texts_pickup` and `texts_payment`; formatting of money and dates in `formatting`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.notify_svc import texts_payment, texts_payment_review, texts_pickup, texts_waiting
from services.notify_svc.formatting import BadData, Fields, Rendered, format_date, format_money
from services.notify_svc.model import Locale

__all__ = ["Kind", "Rendered", "Unrenderable", "format_date", "format_money", "render"]


class Kind(StrEnum):
    """What a notification tells; stable strings, part of the `notifications` contract."""

    PICKUP_CANCEL_REQUESTED = "pickup_cancel_requested"
    PICKUP_CANCEL_APPROVED = "pickup_cancel_approved"
    PICKUP_CANCEL_REJECTED = "pickup_cancel_rejected"
    PICKUP_ARRANGED = "pickup_arranged"
    PICKUP_CANCEL_REMINDER = "pickup_cancel_reminder"
    PICKUP_CANCEL_ESCALATED = "pickup_cancel_escalated"
    PICKUP_VOID_FAILED = "pickup_void_failed"
    PAYMENT_CANCELLED = "payment_cancelled"
    PAYMENT_RESOLVED = "payment_resolved"
    INVOICE_VOIDED = "invoice_voided"
    PAYMENT_RELEASED = "payment_released"
    PAYMENT_CANCEL_REQUESTED = "payment_cancel_requested"
    PAYMENT_CANCEL_REJECTED = "payment_cancel_rejected"
    PAYMENT_BOUNCED = "payment_bounced"
    GIRO_OVERDUE = "giro_overdue"
    COMMAND_REJECTED = "command_rejected"
    BILLING_UNDO_REJECTED = "billing_undo_rejected"
    COMMAND_WAITING = "command_waiting"


@dataclass(frozen=True, slots=True)
class Unrenderable:
    """The data cannot produce this kind of message (a required field is missing or malformed)."""

    reason: str


_TEMPLATES: dict[Kind, Callable[[Fields, Locale], Rendered]] = {
    Kind.PICKUP_CANCEL_REQUESTED: texts_pickup.cancel_requested,
    Kind.PICKUP_CANCEL_APPROVED: texts_pickup.cancel_approved,
    Kind.PICKUP_CANCEL_REJECTED: texts_pickup.cancel_rejected,
    Kind.PICKUP_ARRANGED: texts_pickup.arranged,
    Kind.PICKUP_CANCEL_REMINDER: texts_pickup.cancel_reminder,
    Kind.PICKUP_CANCEL_ESCALATED: texts_pickup.cancel_escalated,
    Kind.PICKUP_VOID_FAILED: texts_pickup.void_failed,
    Kind.PAYMENT_CANCELLED: texts_payment.payment_cancelled,
    Kind.PAYMENT_RESOLVED: texts_payment.payment_resolved,
    Kind.INVOICE_VOIDED: texts_payment.invoice_voided,
    Kind.PAYMENT_RELEASED: texts_payment.payment_released,
    Kind.PAYMENT_CANCEL_REQUESTED: texts_payment_review.cancel_requested,
    Kind.PAYMENT_CANCEL_REJECTED: texts_payment_review.cancel_rejected,
    Kind.PAYMENT_BOUNCED: texts_payment_review.bounced,
    Kind.GIRO_OVERDUE: texts_payment_review.giro_overdue,
    Kind.COMMAND_REJECTED: texts_payment.command_rejected,
    Kind.BILLING_UNDO_REJECTED: texts_payment.billing_undo_rejected,
    Kind.COMMAND_WAITING: texts_waiting.command_waiting,
}


def render(kind: str, data: Mapping[str, Any], locale: Locale = "id") -> Rendered | Unrenderable:
    """Title and body of a `kind` notification about `data`, in `locale`."""
    try:
        template = _TEMPLATES[Kind(kind)]
    except ValueError:
        return Unrenderable(f"unknown notification kind {kind!r}")
    try:
        return template(Fields(data), locale)
    except BadData as exc:
        return Unrenderable(str(exc))
