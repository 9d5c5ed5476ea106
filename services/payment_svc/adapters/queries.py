"""Read views of one payment or invoice for people (the ``lunas payment|invoice show`` commands).

They take no locks. Values are JSON-ready: money as strings with 2 decimals, dates and times ISO.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, LiteralString

from psycopg.rows import dict_row

from services.payment_svc.adapters.rows import Conn, read_invoices, read_payments
from services.payment_svc.domain.model import CENT, Invoice, Payment


def payment_view(conn: Conn, tenant_id: str, payment_no: str) -> dict[str, Any] | None:
    """The tenant's payment with status, usage, allocations and full history; None if unknown."""
    payment = read_payments(conn, tenant_id, [payment_no], lock=False).get(payment_no)
    if payment is None:
        return None
    statuses = dict(
        _select(
            conn,
            "SELECT invoice_no, status FROM payment.invoices"
            " WHERE tenant_id = %s AND invoice_no = ANY(%s)",
            (tenant_id, [a.invoice_no for a in payment.allocations]),
        )
    )
    return {
        **_payment_fields(payment),
        "allocations": [
            {
                "invoice_no": a.invoice_no,
                "amount": _money(a.amount),
                "invoice_status": statuses.get(a.invoice_no),
            }
            for a in payment.allocations
        ],
        "history": _status_history(conn, tenant_id, "payment", payment_no),
        "allocation_history": _allocation_history(conn, tenant_id, "payment_no", payment_no),
        "waiting": waiting_on(conn, tenant_id, payment_no),
        "customer_bounced_giros": bounced_giros(conn, tenant_id, payment.customer_id),
    }


def bounced_giros(conn: Conn, tenant_id: str, customer_id: str) -> int:
    """How many of the customer's giros/cheques bounced: status ``bounced``, and those cancelled
    with reason ``giro_bounced`` (how a bounce was recorded before ``payment.bounce``)."""
    rows = _select(
        conn,
        "SELECT count(*) FROM payment.payments WHERE tenant_id = %s AND customer_id = %s"
        " AND (status = 'bounced'"
        "   OR (status = 'cancelled' AND cancel_reason_code = 'giro_bounced'))",
        (tenant_id, customer_id),
    )
    return int(rows[0][0])


def invoice_view(conn: Conn, tenant_id: str, invoice_no: str) -> dict[str, Any] | None:
    """The tenant's invoice with status, outstanding, allocations by payment and history."""
    invoice = read_invoices(conn, tenant_id, [invoice_no], lock=False).get(invoice_no)
    if invoice is None:
        return None
    allocations = _select(
        conn,
        "SELECT a.payment_no, a.amount, p.status AS payment_status FROM payment.allocations a"
        " JOIN payment.payments p ON p.tenant_id = a.tenant_id AND p.payment_no = a.payment_no"
        ' WHERE a.tenant_id = %s AND a.invoice_no = %s ORDER BY a.payment_no COLLATE "C"',
        (tenant_id, invoice_no),
    )
    return {
        **_invoice_fields(invoice),
        "allocations": [
            {
                "payment_no": row[0],
                "amount": _money(row[1]),
                "payment_status": row[2],
            }
            for row in allocations
        ],
        "history": _status_history(conn, tenant_id, "invoice", invoice_no),
        "allocation_history": _allocation_history(conn, tenant_id, "invoice_no", invoice_no),
        "waiting": waiting_on(conn, tenant_id, invoice_no),
    }


def waiting_on(conn: Conn, tenant_id: str, number: str) -> list[dict[str, Any]]:
    """Commands about ``number`` (a payment or invoice) or waiting for it, in arrival order:
    what will be applied once what they name exists, or refused at their deadline."""
    rows = _select(
        conn,
        "SELECT w.message_id, w.message_type, w.subject, w.awaits, w.created_at, w.deadline"
        " FROM payment.waiting w WHERE w.tenant_id = %s AND (w.subject = %s OR EXISTS ("
        " SELECT 1 FROM payment.waiting_refs r WHERE r.seq = w.seq AND r.tenant_id = w.tenant_id"
        " AND r.ref_id = %s)) ORDER BY w.seq",
        (tenant_id, number, number),
    )
    return [
        {
            "command_id": row[0],
            "command_type": row[1],
            "subject": row[2],
            "awaits": [a.replace(":", " ", 1) for a in row[3]] or ["an earlier command"],
            "since": _iso(row[4]),
            "deadline": _iso(row[5]),
        }
        for row in rows
    ]


def _payment_fields(p: Payment) -> dict[str, Any]:
    return {
        "tenant_id": p.tenant_id,
        "payment_no": p.payment_no,
        "customer_id": p.customer_id,
        "status": p.status,
        "usage": p.usage,
        "method": p.method,
        "channel": p.channel,
        "amount": _money(p.amount),
        "allocated": _money(p.allocated),
        "unallocated": _money(p.unallocated),
        "currency": p.currency,
        "payment_date": p.payment_date.isoformat(),
        "resolved_date": _iso(p.resolved_date),
        "giro": _giro(p),
        "bank_account": p.bank_account,
        "collector_id": p.collector_id,
        "cancel_reason_code": p.cancel_reason_code,
        "cancel_reason": p.cancel_reason,
        "cancel_requested_by": p.cancel_requested_by,
        "bank_charge": None if p.bank_charge is None else _money(p.bank_charge),
        "bounced_date": _iso(p.bounced_date),
        "recorded_by": p.recorded_by,
    }


def _giro(p: Payment) -> dict[str, str] | None:
    if p.giro is None:
        return None
    return {"number": p.giro.number, "bank": p.giro.bank, "due_date": p.giro.due_date.isoformat()}


def _invoice_fields(i: Invoice) -> dict[str, Any]:
    return {
        "tenant_id": i.tenant_id,
        "invoice_no": i.invoice_no,
        "customer_id": i.customer_id,
        "status": i.status,
        "amount": _money(i.amount),
        "outstanding": _money(i.outstanding),
        "allocated": _money(i.allocated),
        "settled": _money(i.settled),
        "currency": i.currency,
        "issue_date": i.issue_date.isoformat(),
        "due_date": _iso(i.due_date),
        "order_id": i.order_id,
        "voided_at": _iso(i.voided_at),
        "void_reason": i.void_reason,
        "issued_by": i.issued_by,
    }


def _status_history(
    conn: Conn, tenant_id: str, entity: str, entity_id: str
) -> list[dict[str, Any]]:
    """Every status change, oldest first: who, when, why, and which command."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT from_status, to_status, at, actor, command_id, reason_code, reason"
            " FROM payment.status_history"
            " WHERE tenant_id = %s AND entity = %s AND entity_id = %s ORDER BY id",
            (tenant_id, entity, entity_id),
        ).fetchall()
    return [{**row, "at": _iso(row["at"])} for row in rows]


def _allocation_history(
    conn: Conn, tenant_id: str, key: LiteralString, value: str
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT payment_no, invoice_no, kind, amount, at, actor, command_id, reason"
            " FROM payment.allocation_history WHERE tenant_id = %s AND " + key + " = %s"
            " ORDER BY id",
            (tenant_id, value),
        ).fetchall()
    return [{**row, "amount": _money(row["amount"]), "at": _iso(row["at"])} for row in rows]


def _select(conn: Conn, query: LiteralString, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()
