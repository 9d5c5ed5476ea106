"""payment_svc's writes for one batch: the final state of every changed invoice and payment,
their live allocations and the appended histories, one set-based statement per table and kind
of change, each taking its rows as one JSON parameter; the statements of the tables are derived
from their columns (``tables.py``).

New aggregates are inserted (a concurrent creation fails on the primary key and the runtime
decides the batch again); loaded ones are updated; allocations are diffed against what was
loaded. Invoices and payments come before the allocations that reference both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, LiteralString

from services.common.runtime.store import recordset
from services.payment_svc.adapters.tables import (
    ALLOCATION_HISTORY,
    INVOICE_CHANGES,
    INVOICES,
    PAYMENT_CHANGES,
    PAYMENTS,
    STATUS_HISTORY,
)
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.outcomes import Decision

Key = tuple[str, str]  # (tenant_id, number)
Statement = tuple[LiteralString, tuple[Any, ...]]

_INSERT_INVOICES = INVOICES.insert(stamped=True)
_UPDATE_INVOICES = INVOICES.update(INVOICE_CHANGES)
_INSERT_PAYMENTS = PAYMENTS.insert(stamped=True)
_UPDATE_PAYMENTS = PAYMENTS.update(PAYMENT_CHANGES)
_INSERT_STATUS_HISTORY = STATUS_HISTORY.insert(ordered=True)
_INSERT_ALLOCATION_HISTORY = ALLOCATION_HISTORY.insert(ordered=True)


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
        self.add(_INSERT_INVOICES, INVOICES.rows(rows), prefix=(at, at))

    def update_invoices(self, rows: list[Invoice], at: datetime) -> None:
        self.add(_UPDATE_INVOICES, INVOICES.rows(rows, INVOICE_CHANGES), prefix=(at,))

    def insert_payments(self, rows: list[Payment], at: datetime) -> None:
        self.add(_INSERT_PAYMENTS, PAYMENTS.rows(rows), prefix=(at, at))

    def update_payments(self, rows: list[Payment], at: datetime) -> None:
        self.add(_UPDATE_PAYMENTS, PAYMENTS.rows(rows, PAYMENT_CHANGES), prefix=(at,))

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
        self.add(_INSERT_STATUS_HISTORY, STATUS_HISTORY.rows(entries))
        changes = [c for d in decisions for c in d.allocation_changes]
        self.add(_INSERT_ALLOCATION_HISTORY, ALLOCATION_HISTORY.rows(changes))
