"""Reading payment_svc's rows into domain values (schema ``payment``), with or without row locks.

The CHECK constraints of 001_payment.sql guarantee the spellings mapped back to literals here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from services.payment_svc.adapters.tables import INVOICES, PAYMENTS
from services.payment_svc.domain.model import (
    CANCEL_REASON_CODES,
    CHANNELS,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    Allocation,
    Giro,
    Invoice,
    Payment,
)

SCHEMA = "payment"

Row = dict[str, Any]
Conn = psycopg.Connection[Any]

INVOICE_COLUMNS: LiteralString = INVOICES.select_list
PAYMENT_COLUMNS: LiteralString = PAYMENTS.select_list


def _rows(
    conn: Conn,
    columns: LiteralString,
    table: LiteralString,
    key: LiteralString,
    tenant_id: str,
    wanted: Sequence[str],
    *,
    lock: bool,
) -> list[Row]:
    """The tenant's rows of ``table`` whose ``key`` is in ``wanted``; locked (``FOR UPDATE``) in
    text order as Python's sorted(), the order every transaction locks rows of one kind in."""
    if not wanted:
        return []
    query = sql.SQL(
        "SELECT {} FROM payment.{} WHERE tenant_id = %s AND {key} = ANY(%s)"
        ' ORDER BY {key} COLLATE "C"'
    ).format(sql.SQL(columns), sql.Identifier(table), key=sql.Identifier(key))
    if lock:
        query += sql.SQL(" FOR UPDATE")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, (tenant_id, list(wanted))).fetchall()


def read_invoices(
    conn: Conn, tenant_id: str, invoice_nos: Iterable[str], *, lock: bool
) -> dict[str, Invoice]:
    """The tenant's invoices among ``invoice_nos`` (missing ones absent), locked in number order."""
    wanted = sorted(set(invoice_nos))
    rows = _rows(conn, INVOICE_COLUMNS, "invoices", "invoice_no", tenant_id, wanted, lock=lock)
    return {row["invoice_no"]: invoice_of(row) for row in rows}


def read_payments(
    conn: Conn, tenant_id: str, payment_nos: Iterable[str], *, lock: bool
) -> dict[str, Payment]:
    """The tenant's payments with their live allocations, locked in number order.

    Allocations are read after the payment rows are locked: only a holder of the payment's lock
    may change them, so what is read stays true for the rest of the transaction.
    """
    wanted = sorted(set(payment_nos))
    if not wanted:
        return {}
    rows = _rows(conn, PAYMENT_COLUMNS, "payments", "payment_no", tenant_id, wanted, lock=lock)
    with conn.cursor(row_factory=dict_row) as cur:
        allocations = cur.execute(
            "SELECT payment_no, invoice_no, amount FROM payment.allocations"
            " WHERE tenant_id = %s AND payment_no = ANY(%s)",
            (tenant_id, wanted),
        ).fetchall()
    held: dict[str, list[Allocation]] = {}
    for a in allocations:
        held.setdefault(a["payment_no"], []).append(
            Allocation(a["payment_no"], a["invoice_no"], a["amount"])
        )
    return {row["payment_no"]: payment_of(row, held.get(row["payment_no"], [])) for row in rows}


def invoice_of(row: Row) -> Invoice:
    return Invoice(
        tenant_id=row["tenant_id"],
        invoice_no=row["invoice_no"],
        customer_id=row["customer_id"],
        amount=row["amount"],
        currency=row["currency"],
        issue_date=row["issue_date"],
        due_date=row["due_date"],
        order_id=row["order_id"],
        allocated=row["allocated"],
        settled=row["settled"],
        voided=row["voided"],
        voided_at=row["voided_at"],
        void_reason=row["void_reason"],
        issued_by=row["issued_by"],
        customer_name=row["customer_name"],
    )


def payment_of(row: Row, allocations: Sequence[Allocation]) -> Payment:
    giro = None
    if row["giro_number"] is not None:
        giro = Giro(row["giro_number"], row["giro_bank"], row["giro_due_date"])
    code = row["cancel_reason_code"]
    return Payment(
        tenant_id=row["tenant_id"],
        payment_no=row["payment_no"],
        customer_id=row["customer_id"],
        method=_literal(row["method"], PAYMENT_METHODS, "method"),
        channel=_literal(row["channel"], CHANNELS, "channel"),
        amount=row["amount"],
        currency=row["currency"],
        payment_date=row["payment_date"],
        status=_literal(row["status"], PAYMENT_STATUSES, "status"),
        giro=giro,
        bank_account=row["bank_account"],
        collector_id=row["collector_id"],
        resolved_date=row["resolved_date"],
        cancel_reason_code=None
        if code is None
        else _literal(code, CANCEL_REASON_CODES, "cancel_reason_code"),
        cancel_reason=row["cancel_reason"],
        recorded_by=row["recorded_by"],
        allocations=tuple(sorted(allocations, key=lambda a: a.invoice_no)),
        customer_name=row["customer_name"],
        recorded_actor=row["recorded_actor"],
        cancel_requested_by=row["cancel_requested_by"],
        bank_charge=row["bank_charge"],
        bounced_date=row["bounced_date"],
    )


L = TypeVar("L", bound=str)


def _literal(value: str, allowed: tuple[L, ...], column: str) -> L:
    for option in allowed:
        if value == option:
            return option
    raise ValueError(f"unknown {column} {value!r} in payment.payments")
