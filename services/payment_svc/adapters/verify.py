"""Ops checks over payment_svc's tables: invariant violations and a digest of the whole state.

``lunas verify`` calls these; they only read, so they may run against a live database.
"""

from __future__ import annotations

from services.common.verify import Check, DigestTable, Verifier

# Each check names the broken rule and selects "<tenant>/<number>" of every aggregate breaking it.
_CHECKS: tuple[Check, ...] = (
    (
        "invoice allocated total differs from its live allocations",
        "SELECT i.tenant_id || '/' || i.invoice_no FROM payment.invoices i"
        " LEFT JOIN payment.allocations a"
        "   ON a.tenant_id = i.tenant_id AND a.invoice_no = i.invoice_no"
        " GROUP BY i.tenant_id, i.invoice_no, i.allocated"
        " HAVING i.allocated <> coalesce(sum(a.amount), 0)",
    ),
    (
        "invoice settled total differs from its allocations by completed payments",
        "SELECT i.tenant_id || '/' || i.invoice_no FROM payment.invoices i"
        " LEFT JOIN payment.allocations a"
        "   ON a.tenant_id = i.tenant_id AND a.invoice_no = i.invoice_no"
        " LEFT JOIN payment.payments p"
        "   ON p.tenant_id = a.tenant_id AND p.payment_no = a.payment_no"
        " GROUP BY i.tenant_id, i.invoice_no, i.settled"
        " HAVING i.settled <> coalesce(sum(a.amount)"
        "   FILTER (WHERE p.status IN ('completed', 'cancel_requested')), 0)",
    ),
    (
        "invoice outstanding is not amount minus live allocations (or is negative)",
        "SELECT tenant_id || '/' || invoice_no FROM payment.invoices"
        " WHERE outstanding <> amount - allocated OR outstanding < 0",
    ),
    (
        "void invoice still has live allocations",
        "SELECT DISTINCT i.tenant_id || '/' || i.invoice_no FROM payment.invoices i"
        " JOIN payment.allocations a ON a.tenant_id = i.tenant_id AND a.invoice_no = i.invoice_no"
        " WHERE i.voided",
    ),
    (
        "payment allocates more than its amount",
        "SELECT p.tenant_id || '/' || p.payment_no FROM payment.payments p"
        " JOIN payment.allocations a ON a.tenant_id = p.tenant_id AND a.payment_no = p.payment_no"
        " GROUP BY p.tenant_id, p.payment_no, p.amount HAVING sum(a.amount) > p.amount",
    ),
    (
        "cancelled or bounced payment still has live allocations",
        "SELECT DISTINCT p.tenant_id || '/' || p.payment_no FROM payment.payments p"
        " JOIN payment.allocations a ON a.tenant_id = p.tenant_id AND a.payment_no = p.payment_no"
        " WHERE p.status IN ('cancelled', 'bounced')",
    ),
    (
        "payment allocated to an invoice of another customer or currency",
        "SELECT DISTINCT p.tenant_id || '/' || p.payment_no FROM payment.allocations a"
        " JOIN payment.payments p ON p.tenant_id = a.tenant_id AND p.payment_no = a.payment_no"
        " JOIN payment.invoices i ON i.tenant_id = a.tenant_id AND i.invoice_no = a.invoice_no"
        " WHERE p.customer_id <> i.customer_id OR p.currency <> i.currency",
    ),
    (
        "live allocation differs from its allocation history (allocated minus released)",
        "SELECT DISTINCT coalesce(a.tenant_id, h.tenant_id) || '/'"
        "   || coalesce(a.payment_no, h.payment_no) FROM payment.allocations a"
        " FULL JOIN (SELECT tenant_id, payment_no, invoice_no,"
        "   sum(CASE kind WHEN 'allocated' THEN amount ELSE -amount END) AS net"
        "   FROM payment.allocation_history GROUP BY tenant_id, payment_no, invoice_no) h"
        "   ON h.tenant_id = a.tenant_id AND h.payment_no = a.payment_no"
        "   AND h.invoice_no = a.invoice_no"
        " WHERE coalesce(a.amount, 0) <> coalesce(h.net, 0)",
    ),
    (
        "payment status differs from the last entry of its status history",
        "SELECT p.tenant_id || '/' || p.payment_no FROM payment.payments p"
        " LEFT JOIN LATERAL (SELECT to_status FROM payment.status_history h"
        "   WHERE h.tenant_id = p.tenant_id AND h.entity = 'payment'"
        "   AND h.entity_id = p.payment_no ORDER BY h.id DESC LIMIT 1) last ON true"
        " WHERE last.to_status IS DISTINCT FROM p.status",
    ),
    (
        "invoice status differs from the last entry of its status history",
        "SELECT i.tenant_id || '/' || i.invoice_no FROM payment.invoices i"
        " LEFT JOIN LATERAL (SELECT to_status FROM payment.status_history h"
        "   WHERE h.tenant_id = i.tenant_id AND h.entity = 'invoice'"
        "   AND h.entity_id = i.invoice_no ORDER BY h.id DESC LIMIT 1) last ON true"
        " WHERE last.to_status IS DISTINCT FROM i.status",
    ),
    (
        "status history entry does not start where the previous one ended",
        "SELECT DISTINCT tenant_id || '/' || entity_id FROM (SELECT tenant_id, entity_id,"
        "   from_status, lag(to_status) OVER (PARTITION BY tenant_id, entity, entity_id"
        "   ORDER BY id) AS previous FROM payment.status_history) h"
        " WHERE from_status IS DISTINCT FROM previous",
    ),
)

# The tables of the payment state and their columns in digest order. Bookkeeping columns
# (created_at, updated_at, recorded_at, identity ids) are left out: they record when a replica
# applied a command, not what the state is, and two replicas of one history must agree.
_DIGEST_TABLES: tuple[DigestTable, ...] = (
    (
        "invoices",
        "SELECT tenant_id, invoice_no, customer_id, amount, currency, issue_date, due_date,"
        " order_id, allocated, settled, voided, voided_at, void_reason, issued_by"
        ' FROM payment.invoices ORDER BY tenant_id COLLATE "C", invoice_no COLLATE "C"',
    ),
    (
        "payments",
        "SELECT tenant_id, payment_no, customer_id, method, channel, amount, currency,"
        " payment_date, status, giro_number, giro_bank, giro_due_date, bank_account,"
        " collector_id, resolved_date, cancel_reason_code, cancel_reason, recorded_by,"
        " cancel_requested_by, bank_charge, bounced_date"
        ' FROM payment.payments ORDER BY tenant_id COLLATE "C", payment_no COLLATE "C"',
    ),
    (
        "allocations",
        "SELECT tenant_id, payment_no, invoice_no, amount FROM payment.allocations"
        ' ORDER BY tenant_id COLLATE "C", payment_no COLLATE "C", invoice_no COLLATE "C"',
    ),
    (
        "allocation_history",
        "SELECT tenant_id, payment_no, invoice_no, kind, amount, at, actor, command_id, reason"
        ' FROM payment.allocation_history ORDER BY tenant_id COLLATE "C", payment_no COLLATE "C",'
        ' invoice_no COLLATE "C", id',
    ),
    (
        "status_history",
        "SELECT tenant_id, entity, entity_id, from_status, to_status, at, actor, command_id,"
        " reason_code, reason FROM payment.status_history"
        ' ORDER BY tenant_id COLLATE "C", entity, entity_id COLLATE "C", id',
    ),
)


VERIFIER = Verifier(_CHECKS, _DIGEST_TABLES)
check_invariants = VERIFIER.check_invariants
state_digest = VERIFIER.state_digest
