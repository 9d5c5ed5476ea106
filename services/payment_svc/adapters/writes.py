"""payment_svc's writes for one batch: the final state of every changed invoice and payment,
their live allocations and the appended histories, one set-based statement per table and kind
of change, each taking its rows as one JSON parameter (``json_to_recordset``; see
``services/common/runtime/store.py`` for why not parameter arrays).

New aggregates are inserted (a concurrent creation fails on the primary key and the runtime
decides the batch again); loaded ones are updated; allocations are diffed against what was
loaded. Invoices and payments come before the allocations that reference both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, LiteralString

from services.common.runtime.store import recordset
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
        self, query: LiteralString, rows: list[dict[str, Any]], *, prefix: tuple[Any, ...] = ()
    ) -> None:
        """One statement over ``rows`` (one JSON parameter, after ``prefix``); none if no rows."""
        if rows:
            self.statements.append((query, (*prefix, recordset(rows))))

    def insert_invoices(self, rows: list[Invoice], at: datetime) -> None:
        self.add(
            "INSERT INTO payment.invoices (tenant_id, invoice_no, customer_id, amount, currency,"
            " issue_date, due_date, order_id, allocated, settled, voided, voided_at, void_reason,"
            " issued_by, customer_name, created_at, updated_at)"
            " SELECT t, n, c, a, cur, idate, ddate, o, al, st, v, vat, vr, ib, cn, %s, %s"
            " FROM json_to_recordset(%s::json) AS u(t text, n text, c text, a numeric,"
            " cur text, idate date, ddate date, o text, al numeric, st numeric, v bool,"
            " vat timestamptz, vr text, ib text, cn text)",
            [
                {
                    "t": i.tenant_id,
                    "n": i.invoice_no,
                    "c": i.customer_id,
                    "a": i.amount,
                    "cur": i.currency,
                    "idate": i.issue_date,
                    "ddate": i.due_date,
                    "o": i.order_id,
                    "al": i.allocated,
                    "st": i.settled,
                    "v": i.voided,
                    "vat": i.voided_at,
                    "vr": i.void_reason,
                    "ib": i.issued_by,
                    "cn": i.customer_name,
                }
                for i in rows
            ],
            prefix=(at, at),
        )

    def update_invoices(self, rows: list[Invoice], at: datetime) -> None:
        # Only what commands change after issue: the totals and the void.
        self.add(
            "UPDATE payment.invoices i SET allocated = u.al, settled = u.st, voided = u.v,"
            " voided_at = u.vat, void_reason = u.vr, updated_at = %s FROM json_to_recordset("
            "%s::json) AS u(t text, n text, al numeric, st numeric, v bool, vat timestamptz,"
            " vr text) WHERE i.tenant_id = u.t AND i.invoice_no = u.n",
            [
                {
                    "t": i.tenant_id,
                    "n": i.invoice_no,
                    "al": i.allocated,
                    "st": i.settled,
                    "v": i.voided,
                    "vat": i.voided_at,
                    "vr": i.void_reason,
                }
                for i in rows
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
            " crb, bc, bd, %s, %s FROM json_to_recordset(%s::json) AS u(t text, n text, c text,"
            " m text, ch text, a numeric, cur text, pd date, s text, gn text, gb text, gd date,"
            " ba text, co text, rd date, crc text, cr text, rb text, cn text, ra text, crb text,"
            " bc numeric, bd date)",
            [
                {
                    "t": p.tenant_id,
                    "n": p.payment_no,
                    "c": p.customer_id,
                    "m": p.method,
                    "ch": p.channel,
                    "a": p.amount,
                    "cur": p.currency,
                    "pd": p.payment_date,
                    "s": p.status,
                    "gn": p.giro.number if p.giro else None,
                    "gb": p.giro.bank if p.giro else None,
                    "gd": p.giro.due_date if p.giro else None,
                    "ba": p.bank_account,
                    "co": p.collector_id,
                    "rd": p.resolved_date,
                    "crc": p.cancel_reason_code,
                    "cr": p.cancel_reason,
                    "rb": p.recorded_by,
                    "cn": p.customer_name,
                    "ra": p.recorded_actor,
                    "crb": p.cancel_requested_by,
                    "bc": p.bank_charge,
                    "bd": p.bounced_date,
                }
                for p in rows
            ],
            prefix=(at, at),
        )

    def update_payments(self, rows: list[Payment], at: datetime) -> None:
        self.add(
            "UPDATE payment.payments p SET status = u.s, resolved_date = u.rd,"
            " cancel_reason_code = u.crc, cancel_reason = u.cr, cancel_requested_by = u.crb,"
            " bank_charge = u.bc, bounced_date = u.bd, updated_at = %s FROM json_to_recordset("
            "%s::json) AS u(t text, n text, s text, rd date, crc text, cr text, crb text,"
            " bc numeric, bd date) WHERE p.tenant_id = u.t AND p.payment_no = u.n",
            [
                {
                    "t": p.tenant_id,
                    "n": p.payment_no,
                    "s": p.status,
                    "rd": p.resolved_date,
                    "crc": p.cancel_reason_code,
                    "cr": p.cancel_reason,
                    "crb": p.cancel_requested_by,
                    "bc": p.bank_charge,
                    "bd": p.bounced_date,
                }
                for p in rows
            ],
            prefix=(at,),
        )

    def allocations(
        self, payments: list[Payment], loaded: Mapping[Key, Payment], at: datetime
    ) -> None:
        gone: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for after in payments:
            before = loaded.get((after.tenant_id, after.payment_no))
            old = {a.invoice_no: a.amount for a in before.allocations} if before else {}
            new = {a.invoice_no: a.amount for a in after.allocations}
            t, p = after.tenant_id, after.payment_no
            gone += [{"t": t, "p": p, "i": no} for no in sorted(set(old) - set(new))]
            changed += [
                {"t": t, "p": p, "i": no, "a": amount}
                for no, amount in sorted(new.items())
                if old.get(no) != amount
            ]
        self.add(
            "DELETE FROM payment.allocations a USING json_to_recordset(%s::json)"
            " AS u(t text, p text, i text)"
            " WHERE a.tenant_id = u.t AND a.payment_no = u.p AND a.invoice_no = u.i",
            gone,
        )
        self.add(
            "INSERT INTO payment.allocations"
            " (tenant_id, payment_no, invoice_no, amount, updated_at)"
            " SELECT t, p, i, a, %s FROM json_to_recordset(%s::json)"
            " AS u(t text, p text, i text, a numeric)"
            " ON CONFLICT (tenant_id, payment_no, invoice_no)"
            " DO UPDATE SET amount = EXCLUDED.amount, updated_at = EXCLUDED.updated_at",
            changed,
            prefix=(at,),
        )

    def histories(self, decisions: list[Decision]) -> None:
        entries = [e for d in decisions for e in d.history]
        self.add(
            "INSERT INTO payment.status_history (tenant_id, entity, entity_id, from_status,"
            " to_status, at, actor, command_id, reason_code, reason)"
            " SELECT t, e, i, f, s, at, a, c, rc, r FROM ROWS FROM (json_to_recordset(%s::json)"
            " AS (t text, e text, i text, f text, s text, at timestamptz, a text, c text,"
            " rc text, r text)) WITH ORDINALITY AS u(t, e, i, f, s, at, a, c, rc, r, ord)"
            " ORDER BY ord",
            [
                {
                    "t": e.tenant_id,
                    "e": e.entity,
                    "i": e.entity_id,
                    "f": e.from_status,
                    "s": e.to_status,
                    "at": e.at,
                    "a": e.actor,
                    "c": e.command_id,
                    "rc": e.reason_code,
                    "r": e.reason,
                }
                for e in entries
            ],
        )
        changes = [c for d in decisions for c in d.allocation_changes]
        self.add(
            "INSERT INTO payment.allocation_history (tenant_id, payment_no, invoice_no, kind,"
            " amount, at, actor, command_id, reason)"
            " SELECT t, p, i, k, a, at, ac, c, r FROM ROWS FROM (json_to_recordset(%s::json)"
            " AS (t text, p text, i text, k text, a numeric, at timestamptz, ac text, c text,"
            " r text)) WITH ORDINALITY AS u(t, p, i, k, a, at, ac, c, r, ord) ORDER BY ord",
            [
                {
                    "t": c.tenant_id,
                    "p": c.payment_no,
                    "i": c.invoice_no,
                    "k": c.kind,
                    "a": c.amount,
                    "at": c.at,
                    "ac": c.actor,
                    "c": c.command_id,
                    "r": c.reason,
                }
                for c in changes
            ],
        )
