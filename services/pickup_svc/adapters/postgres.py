"""Postgres repository of the pickup aggregate (schema `pickup`): load a batch's orders FOR UPDATE
(one query per table), save the changed orders (one statement per table and kind of change).

Bills and cancellation requests are history: inserted once, updated in place, never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from services.common.runtime.store import TENANT_KEYS, recordset
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
            " version FROM pickup.orders o JOIN " + TENANT_KEYS + ""
            " ON o.tenant_id = k.t AND o.order_id = k.n"
            ' ORDER BY o.tenant_id COLLATE "C", o.order_id COLLATE "C"' + lock_clause,
            params,
        ).fetchall()
        if not rows:
            return {}
        payments = _children(
            cur,
            "SELECT c.tenant_id, c.order_id, payment_no FROM pickup.order_payments c JOIN "
            + TENANT_KEYS
            + " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY position",
            params,
        )
        bills = _children(
            cur,
            "SELECT c.tenant_id, c.order_id, awb, courier, status, assigned_at, voided_at"
            " FROM pickup.airway_bills c JOIN " + TENANT_KEYS + ""
            " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY seq",
            params,
        )
        requests = _children(
            cur,
            "SELECT c.tenant_id, c.order_id, request_id, reason, reason_code, origin,"
            " requested_by, requested_at, decision, decided_by, decision_reason, decided_at,"
            " voided_awb, " + _REQUEST_EXTRA + " FROM pickup.cancel_requests c"
            " JOIN " + TENANT_KEYS + " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY seq",
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
    """``save_orders`` of one order."""
    save_orders(conn, [(before, after)], at=at)


def save_orders(
    conn: psycopg.Connection[Any],
    changes: Sequence[tuple[StoredOrder | None, Order]],
    *,
    at: datetime,
) -> None:
    """Write what changed between each ``before`` (as loaded) and ``after``; ``at`` stamps rows.

    One set-based statement per table and kind of change for the whole batch, each taking its
    rows as one JSON parameter (see ``services/common/runtime/store.py``). A lost race (another
    transaction created or changed an order since it was read) raises ``UniqueViolation`` on
    insert or ``SerializationFailure`` on update, which the runtime treats as a lost race: the
    batch is decided again on the current state.
    """
    w = _OrderWrites()
    for before, after in changes:
        if before is not None and before.order == after:
            continue
        w.order_row(before, after, at)
        old = before.order if before is not None else None
        if old is None or old.payment_nos != after.payment_nos:
            w.payments(after)
        w.bills(old, after)
        w.requests(old, after)
    w.write(conn)


_INSERT_ORDERS: LiteralString = (
    "INSERT INTO pickup.orders (tenant_id, order_id, state, courier, payment_type, invoice_no,"
    " pickup_at, version, created_at, updated_at)"
    " SELECT t, o, s, c, pt, i, pa, 1, at, at FROM json_to_recordset(%s::json)"
    " AS u(t text, o text, s text, c text, pt text, i text, pa timestamptz, at timestamptz)"
)
_UPDATE_ORDERS: LiteralString = (
    "UPDATE pickup.orders r SET state = u.s, courier = u.c, payment_type = u.pt,"
    " invoice_no = u.i, pickup_at = u.pa, version = r.version + 1, updated_at = u.at"
    " FROM json_to_recordset(%s::json) AS u(t text, o text, s text, c text, pt text, i text,"
    " pa timestamptz, at timestamptz, v integer)"
    " WHERE r.tenant_id = u.t AND r.order_id = u.o AND r.version = u.v RETURNING r.order_id"
)
_DELETE_PAYMENTS: LiteralString = (
    "DELETE FROM pickup.order_payments p USING json_to_recordset(%s::json) AS u(t text, o text)"
    " WHERE p.tenant_id = u.t AND p.order_id = u.o"
)
_INSERT_PAYMENTS: LiteralString = (
    "INSERT INTO pickup.order_payments (tenant_id, order_id, payment_no, position)"
    " SELECT t, o, p, n FROM json_to_recordset(%s::json) AS u(t text, o text, p text, n integer)"
)
_UPDATE_BILLS: LiteralString = (
    "UPDATE pickup.airway_bills b SET status = u.s, voided_at = u.va"
    " FROM json_to_recordset(%s::json) AS u(t text, a text, s text, va timestamptz)"
    " WHERE b.tenant_id = u.t AND b.awb = u.a"
)
_INSERT_BILLS: LiteralString = (
    "INSERT INTO pickup.airway_bills (tenant_id, order_id, awb, courier, seq, status,"
    " assigned_at, voided_at) SELECT t, o, a, c, n, s, aa, va FROM json_to_recordset(%s::json)"
    " AS u(t text, o text, a text, c text, n integer, s text, aa timestamptz, va timestamptz)"
)
_REQUEST_COLUMNS: LiteralString = (
    "decision text, decided_by text, decision_reason text, decided_at timestamptz,"
    " voided_awb text, reminded_at timestamptz, escalated_at timestamptz, void_error text,"
    " void_attempts integer, voided_by text, void_note text"
)
_UPDATE_REQUESTS: LiteralString = (
    "UPDATE pickup.cancel_requests r SET decision = u.decision, decided_by = u.decided_by,"
    " decision_reason = u.decision_reason, decided_at = u.decided_at,"
    " voided_awb = u.voided_awb, reminded_at = u.reminded_at, escalated_at = u.escalated_at,"
    " void_error = u.void_error, void_attempts = u.void_attempts, voided_by = u.voided_by,"
    " void_note = u.void_note FROM json_to_recordset(%s::json) AS u(t text, request_id text, "
    + _REQUEST_COLUMNS
    + ") WHERE r.tenant_id = u.t AND r.request_id = u.request_id"
)
_INSERT_REQUESTS: LiteralString = (
    "INSERT INTO pickup.cancel_requests (tenant_id, request_id, order_id, seq, reason,"
    " reason_code, origin, requested_by, requested_at, decision, decided_by, decision_reason,"
    " decided_at, voided_awb, " + _REQUEST_EXTRA + ") SELECT t, request_id, o, n, reason,"
    " reason_code, origin, requested_by, requested_at, decision, decided_by, decision_reason,"
    " decided_at, voided_awb, " + _REQUEST_EXTRA + " FROM json_to_recordset(%s::json)"
    " AS u(t text, request_id text, o text, n integer, reason text, reason_code text,"
    " origin text, requested_by text, requested_at timestamptz, " + _REQUEST_COLUMNS + ")"
)


class _OrderWrites:
    """A batch's rows per statement; ``write`` sends the statements that have rows, in an
    order the constraints accept: orders before their children, a bill voided before its
    successor is inserted, a request decided before a new one is opened."""

    def __init__(self) -> None:
        self.new_orders: list[dict[str, Any]] = []
        self.changed_orders: list[dict[str, Any]] = []
        self.replaced_payments: list[dict[str, Any]] = []
        self.new_payments: list[dict[str, Any]] = []
        self.changed_bills: list[dict[str, Any]] = []
        self.new_bills: list[dict[str, Any]] = []
        self.changed_requests: list[dict[str, Any]] = []
        self.new_requests: list[dict[str, Any]] = []

    def order_row(self, before: StoredOrder | None, after: Order, at: datetime) -> None:
        row = {
            "t": after.tenant_id,
            "o": after.order_id,
            "s": after.state.value,
            "c": after.courier,
            "pt": after.payment_type,
            "i": after.invoice_no,
            "pa": after.pickup_at,
            "at": at,
        }
        if before is None:
            self.new_orders.append(row)
        else:
            self.changed_orders.append({**row, "v": before.version})

    def payments(self, order: Order) -> None:
        # The payments an order uses are replaced wholesale when its pickup is arranged again.
        t, o = order.tenant_id, order.order_id
        self.replaced_payments.append({"t": t, "o": o})
        self.new_payments += [
            {"t": t, "o": o, "p": payment_no, "n": i}
            for i, payment_no in enumerate(order.payment_nos, start=1)
        ]

    def bills(self, old: Order | None, new: Order) -> None:
        known = {bill.awb: bill for bill in old.airway_bills} if old is not None else {}
        t = new.tenant_id
        for seq, bill in enumerate(new.airway_bills, start=1):
            if bill.awb not in known:
                self.new_bills.append(
                    {
                        "t": t,
                        "o": new.order_id,
                        "a": bill.awb,
                        "c": bill.courier,
                        "n": seq,
                        "s": bill.status.value,
                        "aa": bill.assigned_at,
                        "va": bill.voided_at,
                    }
                )
            elif known[bill.awb] != bill:
                self.changed_bills.append(
                    {"t": t, "a": bill.awb, "s": bill.status.value, "va": bill.voided_at}
                )

    def requests(self, old: Order | None, new: Order) -> None:
        known = {req.request_id: req for req in old.cancel_requests} if old is not None else {}
        for seq, req in enumerate(new.cancel_requests, start=1):
            decided = {
                "t": new.tenant_id,
                "request_id": req.request_id,
                "decision": req.decision,
                "decided_by": req.decided_by,
                "decision_reason": req.decision_reason,
                "decided_at": req.decided_at,
                "voided_awb": req.voided_awb,
                "reminded_at": req.reminded_at,
                "escalated_at": req.escalated_at,
                "void_error": req.void_error,
                "void_attempts": req.void_attempts,
                "voided_by": req.voided_by,
                "void_note": req.void_note,
            }
            if req.request_id not in known:
                self.new_requests.append(
                    {
                        **decided,
                        "o": new.order_id,
                        "n": seq,
                        "reason": req.reason,
                        "reason_code": req.reason_code,
                        "origin": req.origin,
                        "requested_by": req.requested_by,
                        "requested_at": req.requested_at,
                    }
                )
            elif known[req.request_id] != req:
                self.changed_requests.append(decided)

    def write(self, conn: psycopg.Connection[Any]) -> None:
        def run(query: LiteralString, rows: list[dict[str, Any]]) -> None:
            if rows:
                conn.execute(query, (recordset(rows),))

        # An order created meanwhile by a concurrent transaction fails on the primary key.
        run(_INSERT_ORDERS, self.new_orders)
        if self.changed_orders:
            done = conn.execute(_UPDATE_ORDERS, (recordset(self.changed_orders),)).fetchall()
            if len(done) != len(self.changed_orders):
                stale = sorted({r["o"] for r in self.changed_orders} - {o for (o,) in done})
                raise psycopg.errors.SerializationFailure(
                    f"orders {stale} changed since the versions that were read"
                )
        run(_DELETE_PAYMENTS, self.replaced_payments)
        run(_INSERT_PAYMENTS, self.new_payments)
        run(_UPDATE_BILLS, self.changed_bills)
        run(_INSERT_BILLS, self.new_bills)
        run(_UPDATE_REQUESTS, self.changed_requests)
        run(_INSERT_REQUESTS, self.new_requests)


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
