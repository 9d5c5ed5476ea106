"""Postgres repository of the pickup aggregate (schema `pickup`): load an order FOR UPDATE, save it.

Bills and cancellation requests are history: inserted once, updated in place, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from services.pickup_svc.domain.model import (
    AirwayBill,
    BillStatus,
    CancelDecision,
    CancelOrigin,
    CancelRequest,
    Order,
    OrderState,
    PaymentType,
)

SCHEMA = "pickup"

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order as read from the database, with the row version the save must still find."""

    order: Order
    version: int


def load_order(conn: psycopg.Connection[Any], tenant_id: str, order_id: str) -> StoredOrder | None:
    """The order with its bills, requests and payments, its row locked until the transaction ends.

    Every command touches one order, and its row is locked before any child row is read, so two
    transactions never wait on each other in opposite orders.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT tenant_id, order_id, state, courier, payment_type, invoice_no, pickup_at,"
            " version FROM pickup.orders WHERE tenant_id = %s AND order_id = %s FOR UPDATE",
            (tenant_id, order_id),
        ).fetchone()
        if row is None:
            return None
        key = (tenant_id, order_id)
        payments = cur.execute(
            "SELECT payment_no FROM pickup.order_payments"
            " WHERE tenant_id = %s AND order_id = %s ORDER BY position",
            key,
        ).fetchall()
        bills = cur.execute(
            "SELECT awb, courier, status, assigned_at, voided_at FROM pickup.airway_bills"
            " WHERE tenant_id = %s AND order_id = %s ORDER BY seq",
            key,
        ).fetchall()
        requests = cur.execute(
            "SELECT request_id, reason, reason_code, origin, requested_by, requested_at,"
            " decision, decided_by, decision_reason, decided_at, voided_awb"
            " FROM pickup.cancel_requests WHERE tenant_id = %s AND order_id = %s ORDER BY seq",
            key,
        ).fetchall()
    order = Order(
        tenant_id=row["tenant_id"],
        order_id=row["order_id"],
        state=OrderState(row["state"]),
        courier=row["courier"],
        payment_type=_payment_type(row["payment_type"]),
        invoice_no=row["invoice_no"],
        payment_nos=tuple(p["payment_no"] for p in payments),
        pickup_at=row["pickup_at"],
        airway_bills=tuple(_bill(b) for b in bills),
        cancel_requests=tuple(_request(r) for r in requests),
    )
    return StoredOrder(order, row["version"])


def save_order(
    conn: psycopg.Connection[Any], before: StoredOrder | None, after: Order, *, at: datetime
) -> None:
    """Write what changed between `before` (as loaded) and `after`; `at` stamps the row.

    A lost race (another transaction created or changed the order since it was read) raises
    `SerializationFailure`, which the runtime treats as transient: the batch is retried and the
    command decided again on the current state.
    """
    if before is not None and before.order == after:
        return
    _save_order_row(conn, before, after, at)
    old = before.order if before is not None else None
    if old is None or old.payment_nos != after.payment_nos:
        _save_payments(conn, after)
    _save_bills(conn, old, after)
    _save_requests(conn, old, after)


def _save_order_row(
    conn: psycopg.Connection[Any], before: StoredOrder | None, after: Order, at: datetime
) -> None:
    values = (after.state.value, after.courier, after.payment_type, after.invoice_no)
    if before is None:
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO pickup.orders (tenant_id, order_id, state, courier, payment_type,"
                    " invoice_no, pickup_at, version, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s)",
                    (after.tenant_id, after.order_id, *values, after.pickup_at, at, at),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise psycopg.errors.SerializationFailure(
                f"order {after.order_id} was created by a concurrent transaction"
            ) from exc
        return
    cur = conn.execute(
        "UPDATE pickup.orders SET state = %s, courier = %s, payment_type = %s, invoice_no = %s,"
        " pickup_at = %s, version = version + 1, updated_at = %s"
        " WHERE tenant_id = %s AND order_id = %s AND version = %s",
        (*values, after.pickup_at, at, after.tenant_id, after.order_id, before.version),
    )
    if cur.rowcount != 1:
        raise psycopg.errors.SerializationFailure(
            f"order {after.order_id} changed since version {before.version} was read"
        )


def _save_payments(conn: psycopg.Connection[Any], order: Order) -> None:
    # The payments an order uses are replaced wholesale when its pickup is arranged again.
    key = (order.tenant_id, order.order_id)
    conn.execute("DELETE FROM pickup.order_payments WHERE tenant_id = %s AND order_id = %s", key)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO pickup.order_payments (tenant_id, order_id, payment_no, position)"
            " VALUES (%s, %s, %s, %s)",
            [(*key, payment_no, i) for i, payment_no in enumerate(order.payment_nos, start=1)],
        )


def _save_bills(conn: psycopg.Connection[Any], old: Order | None, new: Order) -> None:
    known = {bill.awb: bill for bill in old.airway_bills} if old is not None else {}
    # Updates first: a bill is voided before its successor is inserted, which the
    # one-live-bill-per-order index requires.
    for bill in new.airway_bills:
        if bill.awb in known and known[bill.awb] != bill:
            conn.execute(
                "UPDATE pickup.airway_bills SET status = %s, voided_at = %s"
                " WHERE tenant_id = %s AND awb = %s",
                (bill.status.value, bill.voided_at, new.tenant_id, bill.awb),
            )
    for seq, bill in enumerate(new.airway_bills, start=1):
        if bill.awb not in known:
            conn.execute(
                "INSERT INTO pickup.airway_bills (tenant_id, order_id, awb, courier, seq, status,"
                " assigned_at, voided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    new.tenant_id,
                    new.order_id,
                    bill.awb,
                    bill.courier,
                    seq,
                    bill.status.value,
                    bill.assigned_at,
                    bill.voided_at,
                ),
            )


def _save_requests(conn: psycopg.Connection[Any], old: Order | None, new: Order) -> None:
    known = {req.request_id: req for req in old.cancel_requests} if old is not None else {}
    # Decisions first, so a request closed and a new one opened never overlap as two open rows.
    for req in new.cancel_requests:
        if req.request_id in known and known[req.request_id] != req:
            conn.execute(
                "UPDATE pickup.cancel_requests SET decision = %s, decided_by = %s,"
                " decision_reason = %s, decided_at = %s, voided_awb = %s"
                " WHERE tenant_id = %s AND request_id = %s",
                (
                    req.decision,
                    req.decided_by,
                    req.decision_reason,
                    req.decided_at,
                    req.voided_awb,
                    new.tenant_id,
                    req.request_id,
                ),
            )
    for seq, req in enumerate(new.cancel_requests, start=1):
        if req.request_id not in known:
            conn.execute(
                "INSERT INTO pickup.cancel_requests (tenant_id, request_id, order_id, seq, reason,"
                " reason_code, origin, requested_by, requested_at, decision, decided_by,"
                " decision_reason, decided_at, voided_awb)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    new.tenant_id,
                    req.request_id,
                    new.order_id,
                    seq,
                    req.reason,
                    req.reason_code,
                    req.origin,
                    req.requested_by,
                    req.requested_at,
                    req.decision,
                    req.decided_by,
                    req.decision_reason,
                    req.decided_at,
                    req.voided_awb,
                ),
            )


def awb_taken(conn: psycopg.Connection[Any], awb: str) -> bool:
    """Whether any tenant's order already has this airway bill (numbers are global)."""
    row = conn.execute("SELECT 1 FROM pickup.airway_bills WHERE awb = %s", (awb,)).fetchone()
    return row is not None


# --- row mapping: the CHECK constraints of 001_pickup.sql guarantee these spellings ---------


def _bill(row: Row) -> AirwayBill:
    return AirwayBill(
        awb=row["awb"],
        courier=row["courier"],
        status=BillStatus(row["status"]),
        assigned_at=row["assigned_at"],
        voided_at=row["voided_at"],
    )


def _request(row: Row) -> CancelRequest:
    return CancelRequest(
        request_id=row["request_id"],
        reason=row["reason"],
        reason_code=row["reason_code"],
        origin=_origin(row["origin"]),
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        decision=_decision(row["decision"]),
        decided_by=row["decided_by"],
        decision_reason=row["decision_reason"],
        decided_at=row["decided_at"],
        voided_awb=row["voided_awb"],
    )


def _payment_type(value: str | None) -> PaymentType | None:
    if value is None:
        return None
    if value == "cod":
        return "cod"
    if value == "prepaid":
        return "prepaid"
    raise ValueError(f"unknown payment_type {value!r} in pickup.orders")


def _origin(value: str) -> CancelOrigin:
    if value == "order":
        return "order"
    if value == "invoice":
        return "invoice"
    raise ValueError(f"unknown origin {value!r} in pickup.cancel_requests")


def _decision(value: str | None) -> CancelDecision | None:
    if value is None:
        return None
    if value == "approve":
        return "approve"
    if value == "reject":
        return "reject"
    raise ValueError(f"unknown decision {value!r} in pickup.cancel_requests")
