"""Postgres repository of the pickup aggregate (schema `pickup`): load a batch's orders FOR UPDATE
(one query per table), save each changed order.

Bills and cancellation requests are history: inserted once, updated in place, never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

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


def load_orders(
    conn: psycopg.Connection[Any], keys: Iterable[tuple[str, str]], *, lock: bool
) -> dict[tuple[str, str], StoredOrder]:
    """The orders with their bills, requests and payments; with ``lock``, their rows stay locked
    until the transaction ends, taken in (tenant, order) order so two batches never wait on each
    other in opposite orders. One query per table for all of ``keys``."""
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    params = ([t for t, _ in ordered], [o for _, o in ordered])
    lock_clause: LiteralString = " FOR UPDATE OF o" if lock else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT o.tenant_id, o.order_id, state, courier, payment_type, invoice_no, pickup_at,"
            " version FROM pickup.orders o JOIN " + _KEYS + ""
            " ON o.tenant_id = k.t AND o.order_id = k.n"
            ' ORDER BY o.tenant_id COLLATE "C", o.order_id COLLATE "C"' + lock_clause,
            params,
        ).fetchall()
        if not rows:
            return {}
        payments = _children(
            cur,
            "SELECT c.tenant_id, c.order_id, payment_no FROM pickup.order_payments c JOIN "
            + _KEYS
            + " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY position",
            params,
        )
        bills = _children(
            cur,
            "SELECT c.tenant_id, c.order_id, awb, courier, status, assigned_at, voided_at"
            " FROM pickup.airway_bills c JOIN " + _KEYS + ""
            " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY seq",
            params,
        )
        requests = _children(
            cur,
            "SELECT c.tenant_id, c.order_id, request_id, reason, reason_code, origin,"
            " requested_by, requested_at, decision, decided_by, decision_reason, decided_at,"
            " voided_awb, " + _REQUEST_EXTRA + " FROM pickup.cancel_requests c JOIN " + _KEYS + ""
            " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY seq",
            params,
        )
    found: dict[tuple[str, str], StoredOrder] = {}
    for row in rows:
        key = (row["tenant_id"], row["order_id"])
        order = Order(
            tenant_id=row["tenant_id"],
            order_id=row["order_id"],
            state=OrderState(row["state"]),
            courier=row["courier"],
            payment_type=_payment_type(row["payment_type"]),
            invoice_no=row["invoice_no"],
            payment_nos=tuple(p["payment_no"] for p in payments.get(key, [])),
            pickup_at=row["pickup_at"],
            airway_bills=tuple(_bill(b) for b in bills.get(key, [])),
            cancel_requests=tuple(_request(r) for r in requests.get(key, [])),
        )
        found[key] = StoredOrder(order, row["version"])
    return found


def load_order(conn: psycopg.Connection[Any], tenant_id: str, order_id: str) -> StoredOrder | None:
    """One order, its row locked until the transaction ends."""
    return load_orders(conn, [(tenant_id, order_id)], lock=True).get((tenant_id, order_id))


_KEYS: LiteralString = "unnest(%b::text[], %b::text[]) AS k(t, n)"
# Columns of a request's deadline steps and void failures (migration 003), in this order.
_REQUEST_EXTRA: LiteralString = (
    "reminded_at, escalated_at, void_error, void_attempts, voided_by, void_note"
)


def _children(
    cur: psycopg.Cursor[Row], query: LiteralString, params: tuple[list[str], list[str]]
) -> dict[tuple[str, str], list[Row]]:
    by_order: dict[tuple[str, str], list[Row]] = {}
    for row in cur.execute(query, params).fetchall():
        by_order.setdefault((row["tenant_id"], row["order_id"]), []).append(row)
    return by_order


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
        # An order created meanwhile by a concurrent transaction fails on the primary key; the
        # runtime then decides the batch again.
        conn.execute(
            "INSERT INTO pickup.orders (tenant_id, order_id, state, courier, payment_type,"
            " invoice_no, pickup_at, version, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s)",
            (after.tenant_id, after.order_id, *values, after.pickup_at, at, at),
        )
        return
    updated = conn.execute(
        "UPDATE pickup.orders SET state = %s, courier = %s, payment_type = %s, invoice_no = %s,"
        " pickup_at = %s, version = version + 1, updated_at = %s"
        " WHERE tenant_id = %s AND order_id = %s AND version = %s RETURNING version",
        (*values, after.pickup_at, at, after.tenant_id, after.order_id, before.version),
    ).fetchone()
    if updated is None:
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
                " decision_reason = %s, decided_at = %s, voided_awb = %s, reminded_at = %s,"
                " escalated_at = %s, void_error = %s, void_attempts = %s, voided_by = %s,"
                " void_note = %s WHERE tenant_id = %s AND request_id = %s",
                (
                    req.decision,
                    req.decided_by,
                    req.decision_reason,
                    req.decided_at,
                    req.voided_awb,
                    *_extra(req),
                    new.tenant_id,
                    req.request_id,
                ),
            )
    for seq, req in enumerate(new.cancel_requests, start=1):
        if req.request_id not in known:
            conn.execute(
                "INSERT INTO pickup.cancel_requests (tenant_id, request_id, order_id, seq, reason,"
                " reason_code, origin, requested_by, requested_at, decision, decided_by,"
                " decision_reason, decided_at, voided_awb, " + _REQUEST_EXTRA + ")"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s)",
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
                    *_extra(req),
                ),
            )


def _extra(req: CancelRequest) -> tuple[object, ...]:
    return (
        req.reminded_at,
        req.escalated_at,
        req.void_error,
        req.void_attempts,
        req.voided_by,
        req.void_note,
    )


def awbs_taken(conn: psycopg.Connection[Any], awbs: Iterable[str]) -> set[str]:
    """Which of these airway bills any tenant's order already has (numbers are global)."""
    wanted = sorted(set(awbs))
    if not wanted:
        return set()
    rows = conn.execute(
        "SELECT awb FROM pickup.airway_bills WHERE awb = ANY(%s)", (wanted,)
    ).fetchall()
    return {row[0] for row in rows}


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
        reminded_at=row["reminded_at"],
        escalated_at=row["escalated_at"],
        void_error=row["void_error"],
        void_attempts=row["void_attempts"],
        voided_by=row["voided_by"],
        void_note=row["void_note"],
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
