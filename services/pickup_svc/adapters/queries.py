"""Read-only views of pickup_svc's state for the back office: one order with its whole history,
and orders by status (across tenants, or one). Used by `lunas pickup` and the read API."""

from __future__ import annotations

from typing import Any

import psycopg

from services.pickup_svc.adapters.postgres import load_orders
from services.pickup_svc.domain.model import Order, OrderState

STATES: frozenset[str] = frozenset(s.value for s in OrderState)


def order_view(
    conn: psycopg.Connection[Any], tenant_id: str, order_id: str
) -> dict[str, Any] | None:
    """The order, its airway bills and its cancellation requests (oldest first), and a history
    of what happened, in order: None if the tenant has no such order."""
    found = load_orders(conn, [(tenant_id, order_id)], lock=False).get((tenant_id, order_id))
    return _view(found.order) if found is not None else None


def list_orders(
    conn: psycopg.Connection[Any], *, status: str, tenant_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Orders in ``status`` (oldest change first), of one tenant or all, with their open or
    last request: what an admin works through."""
    if status not in STATES:
        raise ValueError(f"status must be one of {', '.join(sorted(STATES))}, not {status!r}")
    rows = conn.execute(
        "SELECT tenant_id, order_id FROM pickup.orders WHERE state = %s"
        " AND (%s::text IS NULL OR tenant_id = %s) ORDER BY updated_at, tenant_id, order_id"
        " LIMIT %s",
        (status, tenant_id, tenant_id, limit),
    ).fetchall()
    keys = [(r[0], r[1]) for r in rows]
    orders = load_orders(conn, keys, lock=False)
    out = []
    for key in keys:
        order = orders[key].order
        last = order.cancel_requests[-1] if order.cancel_requests else None
        bill = order.airway_bills[-1] if order.airway_bills else None
        out.append(
            {
                "tenant_id": order.tenant_id,
                "order_id": order.order_id,
                "state": order.state.value,
                "courier": order.courier,
                "awb": bill.awb if bill is not None else None,
                "request": _request(last) if last is not None else None,
            }
        )
    return out


def _view(order: Order) -> dict[str, Any]:
    return {
        "tenant_id": order.tenant_id,
        "order_id": order.order_id,
        "state": order.state.value,
        "courier": order.courier,
        "payment_type": order.payment_type,
        "invoice_no": order.invoice_no,
        "payment_nos": list(order.payment_nos),
        "pickup_at": _iso(order.pickup_at),
        "airway_bills": [
            {
                "awb": b.awb,
                "courier": b.courier,
                "status": b.status.value,
                "assigned_at": _iso(b.assigned_at),
                "voided_at": _iso(b.voided_at),
            }
            for b in order.airway_bills
        ],
        "cancel_requests": [_request(r) for r in order.cancel_requests],
        "history": _history(order),
    }


def _request(r: Any) -> dict[str, Any]:
    return {
        "request_id": r.request_id,
        "reason": r.reason,
        "reason_code": r.reason_code,
        "origin": r.origin,
        "requested_by": r.requested_by,
        "requested_at": _iso(r.requested_at),
        "decision": r.decision,
        "decided_by": r.decided_by,
        "decision_reason": r.decision_reason,
        "decided_at": _iso(r.decided_at),
        "voided_awb": r.voided_awb,
        "reminded_at": _iso(r.reminded_at),
        "escalated_at": _iso(r.escalated_at),
        "void_error": r.void_error,
        "void_attempts": r.void_attempts,
        "voided_by": r.voided_by,
        "void_note": r.void_note,
    }


def _history(order: Order) -> list[dict[str, Any]]:
    """Every recorded step (who, when, what), oldest first; same-time steps keep their order."""
    steps: list[tuple[Any, int, dict[str, Any]]] = []

    def add(at: Any, what: str, by: str | None, detail: str | None = None) -> None:
        if at is not None:
            steps.append(
                (at, len(steps), {"at": _iso(at), "what": what, "by": by, "detail": detail})
            )

    for b in order.airway_bills:
        add(b.assigned_at, "airway bill assigned", None, f"{b.awb} ({b.courier})")
        add(b.voided_at, "airway bill voided", None, b.awb)
    for r in order.cancel_requests:
        add(r.requested_at, "cancellation requested", r.requested_by, r.reason)
        add(r.reminded_at, "admins reminded (half the decision time)", "system:pickup-sla")
        add(r.escalated_at, "escalated to supervisors (deadline passed)", "system:pickup-sla")
        if r.decision is not None:
            add(r.decided_at, f"cancellation {r.decision}d", r.decided_by, r.decision_reason)
        if r.void_attempts:
            add(
                r.decided_at,
                f"courier void failed ({r.void_attempts} attempt(s))",
                None,
                r.void_error,
            )
        if r.voided_by is not None:
            add(r.decided_at, "void resolved", r.voided_by, r.void_note or "voided on retry")
    steps.sort(key=lambda s: (s[0], s[1]))
    return [s[2] for s in steps]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
