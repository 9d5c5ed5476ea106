"""The back office's payment lists (``lunas payment list``, ``GET /v1/payments``): payments by
status, method and giro due date, in one tenant or across tenants. Reads only, no locks.

Seed 001, step 3: the Giros still Active, filtered by status Active and method Giro, that are
due by a date (``due_before``, inclusive: "due on or before").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from services.payment_svc.adapters.rows import Conn
from services.payment_svc.domain.model import (
    CENT,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    PaymentMethod,
    PaymentStatus,
)

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """Every filter is optional; ``due_before`` keeps only giros/cheques due on or before it."""

    tenant_id: str | None = None
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    due_before: date | None = None
    customer_id: str | None = None
    limit: int = 200

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in PAYMENT_STATUSES:
            raise ValueError(f"unknown status {self.status!r}; one of {PAYMENT_STATUSES}")
        if self.method is not None and self.method not in PAYMENT_METHODS:
            raise ValueError(f"unknown method {self.method!r}; one of {PAYMENT_METHODS}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_LIMIT}")


def list_payments(conn: Conn, wanted: PaymentFilter) -> list[dict[str, Any]]:
    """Payments matching ``wanted``, the earliest giro due date first, then by tenant and number;
    JSON-ready values (money as strings with 2 decimals, dates ISO)."""
    where: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("tenant_id", wanted.tenant_id),
        ("status", wanted.status),
        ("method", wanted.method),
        ("customer_id", wanted.customer_id),
    ):
        if value is not None:
            where.append(sql.SQL("p.{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if wanted.due_before is not None:
        where.append(sql.SQL("p.giro_due_date <= %s"))
        params.append(wanted.due_before)
    query = sql.SQL(
        "SELECT p.tenant_id, p.payment_no, p.customer_id, p.customer_name, p.status, p.method,"
        " p.channel, p.amount, p.currency, p.payment_date, p.giro_number, p.giro_bank,"
        " p.giro_due_date, p.resolved_date, p.cancel_reason_code,"
        " coalesce((SELECT sum(a.amount) FROM payment.allocations a"
        "   WHERE a.tenant_id = p.tenant_id AND a.payment_no = p.payment_no), 0) AS allocated"
        " FROM payment.payments p {where}"
        ' ORDER BY p.giro_due_date NULLS LAST, p.tenant_id COLLATE "C", p.payment_no COLLATE "C"'
        " LIMIT %s"
    ).format(where=sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""))
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, (*params, wanted.limit)).fetchall()
    return [_row(r) for r in rows]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    giro = None
    if r["giro_number"] is not None:
        giro = {
            "number": r["giro_number"],
            "bank": r["giro_bank"],
            "due_date": r["giro_due_date"].isoformat(),
        }
    return {
        "tenant_id": r["tenant_id"],
        "payment_no": r["payment_no"],
        "customer_id": r["customer_id"],
        "customer_name": r["customer_name"],
        "status": r["status"],
        "method": r["method"],
        "channel": r["channel"],
        "amount": f"{r['amount'].quantize(CENT):f}",
        "allocated": f"{r['allocated'].quantize(CENT):f}",
        "currency": r["currency"],
        "payment_date": r["payment_date"].isoformat(),
        "giro": giro,
        "resolved_date": None if r["resolved_date"] is None else r["resolved_date"].isoformat(),
        "cancel_reason_code": r["cancel_reason_code"],
    }
