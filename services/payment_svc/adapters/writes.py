"""payment_svc's writes for one batch: the final state of every changed invoice and payment,
their live allocations and the appended histories, as a few statements over parallel arrays
(``unnest``, binary ``%b`` parameters) instead of one statement per row.

New aggregates are inserted (a concurrent creation fails on the primary key and the runtime
decides the batch again); loaded ones are updated; allocations are diffed against what was
loaded. Invoices and payments come before the allocations that reference both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, LiteralString

from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.outcomes import Decision

Key = tuple[str, str]  # (tenant_id, number)
Statement = tuple[LiteralString, tuple[Any, ...]]


def batch_statements(
    *,
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    loaded_invoices: Mapping[Key, Invoice],
    loaded_payments: Mapping[Key, Payment],
    decisions: Sequence[Decision],
    at: datetime,
) -> list[Statement]:
    """The statements that write ``invoices`` and ``payments`` (changed, in key order) and the
    histories of ``decisions``; ``loaded_*`` is the state the batch read, ``at`` stamps rows."""
    writes = _Writes()
    writes.insert_invoices([i for i in invoices if _key_i(i) not in loaded_invoices], at)
    writes.update_invoices([i for i in invoices if _key_i(i) in loaded_invoices], at)
    writes.insert_payments([p for p in payments if _key_p(p) not in loaded_payments], at)
    writes.update_payments([p for p in payments if _key_p(p) in loaded_payments], at)
    writes.allocations(list(payments), loaded_payments, at)
    writes.histories(list(decisions))
    return writes.statements


def _key_i(invoice: Invoice) -> Key:
    return (invoice.tenant_id, invoice.invoice_no)


def _key_p(payment: Payment) -> Key:
    return (payment.tenant_id, payment.payment_no)


class _Writes:
    """Collects the statements; each method adds one per table, or none if it has no rows."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def add(
        self, query: LiteralString, columns: list[list[Any]], *, prefix: tuple[Any, ...] = ()
    ) -> None:
        """One statement over parallel arrays, ``prefix`` parameters first; none if no rows."""
        if columns[0]:
            self.statements.append((query, (*prefix, *columns)))

    def insert_invoices(self, rows: list[Invoice], at: datetime) -> None:
        self.add(
            "INSERT INTO payment.invoices (tenant_id, invoice_no, customer_id, amount, currency,"
            " issue_date, due_date, order_id, allocated, settled, voided, voided_at, void_reason,"
            " issued_by, customer_name, created_at, updated_at)"
            " SELECT t, n, c, a, cur, idate, ddate, o, al, st, v, vat, vr, ib, cn, %s, %s"
            " FROM unnest(%b::text[], %b::text[], %b::text[], %b::numeric[], %b::text[],"
            " %b::date[], %b::date[], %b::text[], %b::numeric[], %b::numeric[], %b::bool[],"
            " %b::timestamptz[], %b::text[], %b::text[], %b::text[])"
            " AS u(t, n, c, a, cur, idate, ddate, o, al, st, v, vat, vr, ib, cn)",
            [
                [i.tenant_id for i in rows],
                [i.invoice_no for i in rows],
                [i.customer_id for i in rows],
                [i.amount for i in rows],
                [i.currency for i in rows],
                [i.issue_date for i in rows],
                [i.due_date for i in rows],
                [i.order_id for i in rows],
                [i.allocated for i in rows],
                [i.settled for i in rows],
                [i.voided for i in rows],
                [i.voided_at for i in rows],
                [i.void_reason for i in rows],
                [i.issued_by for i in rows],
                [i.customer_name for i in rows],
            ],
            prefix=(at, at),
        )

    def update_invoices(self, rows: list[Invoice], at: datetime) -> None:
        # Only what commands change after issue: the totals and the void.
        self.add(
            "UPDATE payment.invoices i SET allocated = u.al, settled = u.st, voided = u.v,"
            " voided_at = u.vat, void_reason = u.vr, updated_at = %s FROM unnest("
            "%b::text[], %b::text[], %b::numeric[], %b::numeric[], %b::bool[],"
            " %b::timestamptz[], %b::text[]) AS u(t, n, al, st, v, vat, vr)"
            " WHERE i.tenant_id = u.t AND i.invoice_no = u.n",
            [
                [i.tenant_id for i in rows],
                [i.invoice_no for i in rows],
                [i.allocated for i in rows],
                [i.settled for i in rows],
                [i.voided for i in rows],
                [i.voided_at for i in rows],
                [i.void_reason for i in rows],
            ],
            prefix=(at,),
        )

    def insert_payments(self, rows: list[Payment], at: datetime) -> None:
        self.add(
            "INSERT INTO payment.payments (tenant_id, payment_no, customer_id, method, channel,"
            " amount, currency, payment_date, status, giro_number, giro_bank, giro_due_date,"
            " bank_account, collector_id, resolved_date, cancel_reason_code, cancel_reason,"
            " recorded_by, customer_name, recorded_actor, cancel_requested_by, bank_charge,"
            " bounced_date, created_at, updated_at)"
            " SELECT t, n, c, m, ch, a, cur, pd, s, gn, gb, gd, ba, co, rd, crc, cr, rb, cn, ra,"
            " crb, bc, bd, %s, %s FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::numeric[], %b::text[], %b::date[], %b::text[], %b::text[],"
            " %b::text[], %b::date[], %b::text[], %b::text[], %b::date[], %b::text[], %b::text[],"
            " %b::text[], %b::text[], %b::text[], %b::text[], %b::numeric[], %b::date[])"
            " AS u(t, n, c, m, ch, a, cur, pd, s, gn, gb, gd, ba, co, rd, crc, cr, rb, cn, ra,"
            " crb, bc, bd)",
            [
                [p.tenant_id for p in rows],
                [p.payment_no for p in rows],
                [p.customer_id for p in rows],
                [p.method for p in rows],
                [p.channel for p in rows],
                [p.amount for p in rows],
                [p.currency for p in rows],
                [p.payment_date for p in rows],
                [p.status for p in rows],
                [p.giro.number if p.giro else None for p in rows],
                [p.giro.bank if p.giro else None for p in rows],
                [p.giro.due_date if p.giro else None for p in rows],
                [p.bank_account for p in rows],
                [p.collector_id for p in rows],
                [p.resolved_date for p in rows],
                [p.cancel_reason_code for p in rows],
                [p.cancel_reason for p in rows],
                [p.recorded_by for p in rows],
                [p.customer_name for p in rows],
                [p.recorded_actor for p in rows],
                [p.cancel_requested_by for p in rows],
                [p.bank_charge for p in rows],
                [p.bounced_date for p in rows],
            ],
            prefix=(at, at),
        )

    def update_payments(self, rows: list[Payment], at: datetime) -> None:
        self.add(
            "UPDATE payment.payments p SET status = u.s, resolved_date = u.rd,"
            " cancel_reason_code = u.crc, cancel_reason = u.cr, cancel_requested_by = u.crb,"
            " bank_charge = u.bc, bounced_date = u.bd, updated_at = %s FROM unnest("
            "%b::text[], %b::text[], %b::text[], %b::date[], %b::text[], %b::text[], %b::text[],"
            " %b::numeric[], %b::date[]) AS u(t, n, s, rd, crc, cr, crb, bc, bd)"
            " WHERE p.tenant_id = u.t AND p.payment_no = u.n",
            [
                [p.tenant_id for p in rows],
                [p.payment_no for p in rows],
                [p.status for p in rows],
                [p.resolved_date for p in rows],
                [p.cancel_reason_code for p in rows],
                [p.cancel_reason for p in rows],
                [p.cancel_requested_by for p in rows],
                [p.bank_charge for p in rows],
                [p.bounced_date for p in rows],
            ],
            prefix=(at,),
        )

    def allocations(
        self, payments: list[Payment], loaded: Mapping[Key, Payment], at: datetime
    ) -> None:
        gone: list[tuple[str, str, str]] = []
        changed: list[tuple[str, str, str, Decimal]] = []
        for after in payments:
            before = loaded.get((after.tenant_id, after.payment_no))
            old = {a.invoice_no: a.amount for a in before.allocations} if before else {}
            new = {a.invoice_no: a.amount for a in after.allocations}
            gone += [(after.tenant_id, after.payment_no, no) for no in sorted(set(old) - set(new))]
            changed += [
                (after.tenant_id, after.payment_no, no, amount)
                for no, amount in sorted(new.items())
                if old.get(no) != amount
            ]
        self.add(
            "DELETE FROM payment.allocations a USING unnest(%b::text[], %b::text[], %b::text[])"
            " AS u(t, p, i) WHERE a.tenant_id = u.t AND a.payment_no = u.p AND a.invoice_no = u.i",
            [[g[0] for g in gone], [g[1] for g in gone], [g[2] for g in gone]],
        )
        self.add(
            "INSERT INTO payment.allocations"
            " (tenant_id, payment_no, invoice_no, amount, updated_at)"
            " SELECT t, p, i, a, %s FROM unnest(%b::text[], %b::text[], %b::text[],"
            " %b::numeric[]) AS u(t, p, i, a)"
            " ON CONFLICT (tenant_id, payment_no, invoice_no)"
            " DO UPDATE SET amount = EXCLUDED.amount, updated_at = EXCLUDED.updated_at",
            [
                [c[0] for c in changed],
                [c[1] for c in changed],
                [c[2] for c in changed],
                [c[3] for c in changed],
            ],
            prefix=(at,),
        )

    def histories(self, decisions: list[Decision]) -> None:
        entries = [e for d in decisions for e in d.history]
        self.add(
            "INSERT INTO payment.status_history (tenant_id, entity, entity_id, from_status,"
            " to_status, at, actor, command_id, reason_code, reason)"
            " SELECT t, e, i, f, s, at, a, c, rc, r FROM unnest(%b::text[], %b::text[],"
            " %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::text[],"
            " %b::text[], %b::text[]) WITH ORDINALITY AS u(t, e, i, f, s, at, a, c, rc, r, ord)"
            " ORDER BY ord",
            [
                [e.tenant_id for e in entries],
                [e.entity for e in entries],
                [e.entity_id for e in entries],
                [e.from_status for e in entries],
                [e.to_status for e in entries],
                [e.at for e in entries],
                [e.actor for e in entries],
                [e.command_id for e in entries],
                [e.reason_code for e in entries],
                [e.reason for e in entries],
            ],
        )
        changes = [c for d in decisions for c in d.allocation_changes]
        self.add(
            "INSERT INTO payment.allocation_history (tenant_id, payment_no, invoice_no, kind,"
            " amount, at, actor, command_id, reason)"
            " SELECT t, p, i, k, a, at, ac, c, r FROM unnest(%b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::numeric[], %b::timestamptz[], %b::text[], %b::text[], %b::text[])"
            " WITH ORDINALITY AS u(t, p, i, k, a, at, ac, c, r, ord) ORDER BY ord",
            [
                [c.tenant_id for c in changes],
                [c.payment_no for c in changes],
                [c.invoice_no for c in changes],
                [c.kind for c in changes],
                [c.amount for c in changes],
                [c.at for c in changes],
                [c.actor for c in changes],
                [c.command_id for c in changes],
                [c.reason for c in changes],
            ],
        )
