"""Ops checks over pickup_svc's tables: invariant violations and a digest of the whole state.

`lunas verify` calls these; they read only, so they may run against a live database.
"""

from __future__ import annotations

from services.common.verify import Check, DigestTable, Verifier

# Each check names the broken rule and selects "<tenant>/<order>" of every order breaking it.
_CHECKS: tuple[Check, ...] = (
    (
        "order in a shipping state without a live airway bill",
        "SELECT o.tenant_id || '/' || o.order_id FROM pickup.orders o"
        " WHERE o.state IN ('pickup_requested', 'cancel_pending', 'picked_up', 'in_transit',"
        " 'delivered') AND NOT EXISTS (SELECT 1 FROM pickup.airway_bills b"
        " WHERE b.tenant_id = o.tenant_id AND b.order_id = o.order_id AND b.status <> 'voided')",
    ),
    (
        "order without a pickup (ready to ship or cancelled) still has a live airway bill",
        "SELECT DISTINCT o.tenant_id || '/' || o.order_id FROM pickup.orders o"
        " JOIN pickup.airway_bills b ON b.tenant_id = o.tenant_id AND b.order_id = o.order_id"
        " WHERE o.state IN ('ready_to_ship', 'pickup_cancelled') AND b.status <> 'voided'",
    ),
    (
        "live airway bill status does not match the order state",
        "SELECT o.tenant_id || '/' || o.order_id FROM pickup.orders o"
        " JOIN pickup.airway_bills b ON b.tenant_id = o.tenant_id AND b.order_id = o.order_id"
        " WHERE o.state NOT IN ('ready_to_ship', 'pickup_cancelled')"
        " AND b.status <> 'voided' AND b.status <> CASE o.state"
        "   WHEN 'pickup_requested' THEN 'assigned' WHEN 'cancel_pending' THEN 'assigned'"
        "   ELSE o.state END",
    ),
    (
        "live airway bill is not the order's latest",
        "SELECT b.tenant_id || '/' || b.order_id FROM pickup.airway_bills b"
        " WHERE b.status <> 'voided' AND EXISTS (SELECT 1 FROM pickup.airway_bills later"
        " WHERE later.tenant_id = b.tenant_id AND later.order_id = b.order_id"
        " AND later.seq > b.seq)",
    ),
    (
        "airway bill history has a gap (seq is not 1..n)",
        "SELECT tenant_id || '/' || order_id FROM pickup.airway_bills GROUP BY tenant_id, order_id"
        " HAVING min(seq) <> 1 OR max(seq) <> count(*)",
    ),
    (
        "cancellation request history has a gap (seq is not 1..n)",
        "SELECT tenant_id || '/' || order_id FROM pickup.cancel_requests"
        " GROUP BY tenant_id, order_id HAVING min(seq) <> 1 OR max(seq) <> count(*)",
    ),
    (
        "cancel_pending order without an open request, or an open request on another state",
        "SELECT o.tenant_id || '/' || o.order_id FROM pickup.orders o"
        " WHERE (o.state = 'cancel_pending') <> EXISTS (SELECT 1 FROM pickup.cancel_requests r"
        " WHERE r.tenant_id = o.tenant_id AND r.order_id = o.order_id AND r.decision IS NULL)",
    ),
    (
        "approved request names a bill of another order or a bill that is not voided",
        "SELECT r.tenant_id || '/' || r.order_id FROM pickup.cancel_requests r"
        " LEFT JOIN pickup.airway_bills b ON b.tenant_id = r.tenant_id AND b.awb = r.voided_awb"
        " WHERE r.decision = 'approve'"
        " AND (b.awb IS NULL OR b.order_id <> r.order_id OR b.status <> 'voided')",
    ),
    (
        "voided airway bill without the approved request that voided it",
        "SELECT b.tenant_id || '/' || b.order_id FROM pickup.airway_bills b"
        " WHERE b.status = 'voided' AND NOT EXISTS (SELECT 1 FROM pickup.cancel_requests r"
        " WHERE r.tenant_id = b.tenant_id AND r.voided_awb = b.awb AND r.decision = 'approve')",
    ),
    (
        "order uses payments but names no invoice to release them from",
        "SELECT DISTINCT o.tenant_id || '/' || o.order_id FROM pickup.orders o"
        " JOIN pickup.order_payments p ON p.tenant_id = o.tenant_id AND p.order_id = o.order_id"
        " WHERE o.invoice_no IS NULL",
    ),
)

# The tables of the pickup state and their columns in digest order. Bookkeeping columns
# (created_at, updated_at) are left out: they record when a replica applied a command, not what
# the state is, and two replicas of one history must give one digest.
_DIGEST_TABLES: tuple[DigestTable, ...] = (
    (
        "orders",
        "SELECT tenant_id, order_id, state, courier, payment_type, invoice_no, pickup_at, version"
        " FROM pickup.orders ORDER BY tenant_id, order_id",
    ),
    (
        "order_payments",
        "SELECT tenant_id, order_id, position, payment_no FROM pickup.order_payments"
        " ORDER BY tenant_id, order_id, position",
    ),
    (
        "airway_bills",
        "SELECT tenant_id, order_id, seq, awb, courier, status, assigned_at, voided_at"
        " FROM pickup.airway_bills ORDER BY tenant_id, order_id, seq",
    ),
    (
        "cancel_requests",
        "SELECT tenant_id, order_id, seq, request_id, reason, reason_code, origin, requested_by,"
        " requested_at, decision, decided_by, decision_reason, decided_at, voided_awb"
        " FROM pickup.cancel_requests ORDER BY tenant_id, order_id, seq",
    ),
)


VERIFIER = Verifier(_CHECKS, _DIGEST_TABLES)
check_invariants = VERIFIER.check_invariants
state_digest = VERIFIER.state_digest
