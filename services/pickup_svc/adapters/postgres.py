"""Postgres repository of the pickup aggregate (schema `pickup`): load a batch's orders FOR UPDATE
(one query per table), save the changed orders (one statement per table and kind of change).

Bills and cancellation requests are history: inserted once, updated in place, never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, LiteralString, NamedTuple

import psycopg
from psycopg.rows import dict_row

from services.common.runtime.store import TENANT_KEYS, recordset
from services.common.tables import Column, Table, col
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
            "SELECT " + BILLS.select_without("seq") + " FROM pickup.airway_bills c"
            " JOIN " + TENANT_KEYS + " ON c.tenant_id = k.t AND c.order_id = k.n ORDER BY seq",
            params,
        )
        requests = _children(
            cur,
            "SELECT " + REQUESTS.select_without("seq") + " FROM pickup.cancel_requests c"
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


class _Child(NamedTuple):
    """A bill or a cancellation request, with its order and its place in it (``seq``)."""

    tenant_id: str
    order_id: str
    seq: int
    item: Any


def _of(name: LiteralString, sql_type: LiteralString) -> Column:
    """A column whose value is the bill's or request's own attribute of that name."""
    getter = attrgetter(name)
    return col(name, sql_type, lambda child: getter(child.item))


BILLS = Table(
    "pickup.airway_bills",
    ("tenant_id", "awb"),
    (
        col("tenant_id", "text"),
        col("order_id", "text"),
        _of("awb", "text"),
        _of("courier", "text"),
        col("seq", "integer"),
        col("status", "text", lambda child: child.item.status.value),
        _of("assigned_at", "timestamptz"),
        _of("voided_at", "timestamptz"),
    ),
)
# What changes on a bill after it is assigned.
_BILL_CHANGES: tuple[LiteralString, ...] = ("status", "voided_at")
REQUESTS = Table(
    "pickup.cancel_requests",
    ("tenant_id", "request_id"),
    (
        col("tenant_id", "text"),
        _of("request_id", "text"),
        col("order_id", "text"),
        col("seq", "integer"),
        _of("reason", "text"),
        _of("reason_code", "text"),
        _of("origin", "text"),
        _of("requested_by", "text"),
        _of("requested_at", "timestamptz"),
        _of("decision", "text"),
        _of("decided_by", "text"),
        _of("decision_reason", "text"),
        _of("decided_at", "timestamptz"),
        _of("voided_awb", "text"),
        _of("reminded_at", "timestamptz"),
        _of("escalated_at", "timestamptz"),
        _of("void_error", "text"),
        _of("void_attempts", "integer"),
        _of("voided_by", "text"),
        _of("void_note", "text"),
    ),
)
# What changes on a request after it is opened: its decision, deadline steps and void (the
# columns from ``decision`` on).
_REQUEST_NAMES = [c.name for c in REQUESTS.columns]
_REQUEST_CHANGES = tuple(_REQUEST_NAMES[_REQUEST_NAMES.index("decision") :])
_INSERT_BILLS = BILLS.insert()
_UPDATE_BILLS = BILLS.update(_BILL_CHANGES, stamped=False)
_INSERT_REQUESTS = REQUESTS.insert()
_UPDATE_REQUESTS = REQUESTS.update(_REQUEST_CHANGES, stamped=False)


class _OrderWrites:
    """A batch's rows per statement; ``write`` sends the statements that have rows, in an
    order the constraints accept: orders before their children, a bill voided before its
    successor is inserted, a request decided before a new one is opened."""

    def __init__(self) -> None:
        self.new_orders: list[dict[str, Any]] = []
        self.changed_orders: list[dict[str, Any]] = []
        self.replaced_payments: list[dict[str, Any]] = []
        self.new_payments: list[dict[str, Any]] = []
        self.changed_bills: list[_Child] = []
        self.new_bills: list[_Child] = []
        self.changed_requests: list[_Child] = []
        self.new_requests: list[_Child] = []

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
        for seq, bill in enumerate(new.airway_bills, start=1):
            child = _Child(new.tenant_id, new.order_id, seq, bill)
            if bill.awb not in known:
                self.new_bills.append(child)
            elif known[bill.awb] != bill:
                self.changed_bills.append(child)

    def requests(self, old: Order | None, new: Order) -> None:
        known = {req.request_id: req for req in old.cancel_requests} if old is not None else {}
        for seq, req in enumerate(new.cancel_requests, start=1):
            child = _Child(new.tenant_id, new.order_id, seq, req)
            if req.request_id not in known:
                self.new_requests.append(child)
            elif known[req.request_id] != req:
                self.changed_requests.append(child)

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
        run(_UPDATE_BILLS, BILLS.rows(self.changed_bills, _BILL_CHANGES))
        run(_INSERT_BILLS, BILLS.rows(self.new_bills))
        run(_UPDATE_REQUESTS, REQUESTS.rows(self.changed_requests, _REQUEST_CHANGES))
        run(_INSERT_REQUESTS, REQUESTS.rows(self.new_requests))


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
