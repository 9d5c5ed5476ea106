"""payment_svc's tables (schema ``payment``) as its adapters write them, each column once
(``services/common/tables.py``): ``rows`` reads with their SELECT lists, ``writes`` derives the
batch's statements from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, LiteralString

from services.common.tables import Table, col
from services.payment_svc.domain.model import Payment


def _giro(part: str) -> Callable[[Payment], Any]:
    def value(p: Payment) -> Any:
        return getattr(p.giro, part) if p.giro is not None else None

    return value


INVOICES = Table(
    "payment.invoices",
    ("tenant_id", "invoice_no"),
    (
        col("tenant_id", "text"),
        col("invoice_no", "text"),
        col("customer_id", "text"),
        col("amount", "numeric"),
        col("currency", "text"),
        col("issue_date", "date"),
        col("due_date", "date"),
        col("order_id", "text"),
        col("allocated", "numeric"),
        col("settled", "numeric"),
        col("voided", "bool"),
        col("voided_at", "timestamptz"),
        col("void_reason", "text"),
        col("issued_by", "text"),
        col("customer_name", "text"),
    ),
)
# What commands change on an invoice after it is issued: the totals and the void.
INVOICE_CHANGES: tuple[LiteralString, ...] = (
    "allocated",
    "settled",
    "voided",
    "voided_at",
    "void_reason",
)

PAYMENTS = Table(
    "payment.payments",
    ("tenant_id", "payment_no"),
    (
        col("tenant_id", "text"),
        col("payment_no", "text"),
        col("customer_id", "text"),
        col("method", "text"),
        col("channel", "text"),
        col("amount", "numeric"),
        col("currency", "text"),
        col("payment_date", "date"),
        col("status", "text"),
        col("giro_number", "text", _giro("number")),
        col("giro_bank", "text", _giro("bank")),
        col("giro_due_date", "date", _giro("due_date")),
        col("bank_account", "text"),
        col("collector_id", "text"),
        col("resolved_date", "date"),
        col("cancel_reason_code", "text"),
        col("cancel_reason", "text"),
        col("recorded_by", "text"),
        col("customer_name", "text"),
        col("recorded_actor", "text"),
        col("cancel_requested_by", "text"),
        col("bank_charge", "numeric"),
        col("bounced_date", "date"),
    ),
)
# What commands change on a payment after it is recorded (its allocations are their own table).
PAYMENT_CHANGES: tuple[LiteralString, ...] = (
    "status",
    "resolved_date",
    "cancel_reason_code",
    "cancel_reason",
    "cancel_requested_by",
    "bank_charge",
    "bounced_date",
)

STATUS_HISTORY = Table(
    "payment.status_history",
    (),
    (
        col("tenant_id", "text"),
        col("entity", "text"),
        col("entity_id", "text"),
        col("from_status", "text"),
        col("to_status", "text"),
        col("at", "timestamptz"),
        col("actor", "text"),
        col("command_id", "text"),
        col("reason_code", "text"),
        col("reason", "text"),
    ),
)

ALLOCATION_HISTORY = Table(
    "payment.allocation_history",
    (),
    (
        col("tenant_id", "text"),
        col("payment_no", "text"),
        col("invoice_no", "text"),
        col("kind", "text"),
        col("amount", "numeric"),
        col("at", "timestamptz"),
        col("actor", "text"),
        col("command_id", "text"),
        col("reason", "text"),
    ),
)
