"""payment_svc's unit of work: a batch's payments and invoices, locked, decided on, written back.

Loading (``load``), one query per table for the whole batch, of what the commands' specs name
(``handlers.TABLE.names``, given as ``names``):
1. the holders of every invoice the batch voids (payments with a live allocation to it);
2. the payments every command names, and those holders, ``FOR UPDATE`` in (tenant, number) order,
   with their live allocations;
3. the invoices every command names, and every invoice those payments are allocated to,
   ``FOR UPDATE`` in (tenant, number) order;
4. the void invoices' holders again: the invoice locks stop new allocations to them, so a holder
   that appeared in between means a concurrent transaction won; the batch is decided again.
Every transaction locks payments before invoices, each in one global order: no deadlocks.

Handlers read from and stage into the identity map; values are immutable, so ``undo`` restores
the map from a journal. ``flush`` writes the final state of every changed aggregate and appends
the histories, in a handful of statements (``unnest`` arrays, built by ``writes.py``), inside the
runtime's pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString

from psycopg.rows import dict_row

from schemas import Envelope
from services.common.runtime.seam import Connection, LostRace, Name
from services.common.runtime.store import TENANT_KEYS
from services.payment_svc.adapters.memory import Key, MemoryLedger
from services.payment_svc.adapters.rows import (
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    invoice_of,
    payment_of,
)
from services.payment_svc.adapters.writes import batch_statements
from services.payment_svc.domain.model import Allocation, Invoice, Payment
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.policy import ApprovalAmounts

_LOCK_PAYMENTS: LiteralString = (
    "SELECT " + PAYMENT_COLUMNS + " FROM payment.payments p JOIN " + TENANT_KEYS + ""
    " ON p.tenant_id = k.t AND p.payment_no = k.n"
    ' ORDER BY p.tenant_id COLLATE "C", p.payment_no COLLATE "C" FOR UPDATE OF p'
)
_LOCK_INVOICES: LiteralString = (
    "SELECT " + INVOICE_COLUMNS + " FROM payment.invoices i JOIN " + TENANT_KEYS + ""
    " ON i.tenant_id = k.t AND i.invoice_no = k.n"
    ' ORDER BY i.tenant_id COLLATE "C", i.invoice_no COLLATE "C" FOR UPDATE OF i'
)
_ALLOCATIONS_OF_PAYMENTS: LiteralString = (
    "SELECT a.tenant_id, a.payment_no, a.invoice_no, a.amount FROM payment.allocations a"
    " JOIN " + TENANT_KEYS + " ON a.tenant_id = k.t AND a.payment_no = k.n"
)
_HOLDERS: LiteralString = (
    "SELECT a.tenant_id, a.payment_no FROM payment.allocations a"
    " JOIN " + TENANT_KEYS + " ON a.tenant_id = k.t AND a.invoice_no = k.n"
)


@dataclass(frozen=True, slots=True)
class _Mark:
    journal: int
    decisions: int


@dataclass(frozen=True, slots=True)
class PaymentDependencies:
    """What payment_svc's handlers need besides the ledger: built once, by ``bootstrap``."""

    admins: frozenset[str] = frozenset()
    approval_amounts: ApprovalAmounts = field(default_factory=ApprovalAmounts)


class PaymentUnitOfWork(MemoryLedger):
    """The payments and invoices of one batch; see the module docstring."""

    def __init__(
        self,
        conn: Connection,
        now: datetime,
        deps: PaymentDependencies | None = None,
        *,
        names: Callable[[Envelope], Iterable[Name]],
    ) -> None:
        deps = deps or PaymentDependencies()
        super().__init__(admins=deps.admins, approval_amounts=deps.approval_amounts)
        self._conn = conn
        self._now = now
        self._names = names
        self._loaded_payments: dict[Key, Payment] = {}
        self._loaded_invoices: dict[Key, Invoice] = {}
        # (is_payment, key, value before) for every staged write, to undo a failed message.
        self._journal: list[tuple[bool, Key, Payment | Invoice | None]] = []
        self._decisions: list[Decision] = []

    # --- the runtime's side ----------------------------------------------------------------

    def prepare(self, messages: Sequence[Envelope]) -> None:
        """payment_svc asks nothing of the outside world."""

    def load(self, messages: Sequence[Envelope]) -> None:
        self.load_names([(m.tenantid, name) for m in messages for name in self._names(m)])

    def load_names(self, names: Iterable[tuple[str, Name]]) -> None:
        """``load`` for (tenant, name) pairs, the names the commands' specs declare (``loads``):
        ``payment``, ``invoice``, and ``holders`` (the payments allocated to an invoice)."""
        wanted: dict[str, set[Key]] = {"payment": set(), "invoice": set(), "holders": set()}
        for tenant, (kind, number) in names:
            wanted[kind].add((tenant, number))
        voided = wanted["holders"]
        holders = self._holders(voided)
        payments = self._lock_payments(wanted["payment"] | holders)
        invoices = self._lock_invoices(invoices_to_lock(wanted["invoice"], payments.values()))
        missed = self._holders(voided) - set(payments)
        if missed:
            raise LostRace(
                f"payments {sorted(missed)} were allocated to a voided invoice meanwhile"
            )
        self.payment_rows = dict(payments)
        self.invoice_rows = dict(invoices)
        self._loaded_payments = payments
        self._loaded_invoices = invoices

    def mark(self) -> object:
        return _Mark(len(self._journal), len(self._decisions))

    def undo(self, mark: object) -> None:
        assert isinstance(mark, _Mark)
        while len(self._journal) > mark.journal:
            is_payment, key, before = self._journal.pop()
            target: dict[Key, Any] = self.payment_rows if is_payment else self.invoice_rows
            if before is None:
                target.pop(key, None)
            else:
                target[key] = before
        del self._decisions[mark.decisions :]

    def flush(self) -> None:
        invoices = {k for is_payment, k, _ in self._journal if not is_payment}
        payments = {k for is_payment, k, _ in self._journal if is_payment}
        statements = batch_statements(
            invoices=[self.invoice_rows[k] for k in sorted(invoices)],
            payments=[self.payment_rows[k] for k in sorted(payments)],
            loaded_invoices=self._loaded_invoices,
            loaded_payments=self._loaded_payments,
            decisions=self._decisions,
            at=self._now,
        )
        for query, params in statements:
            self._conn.execute(query, params)

    # --- the handlers' side (``MemoryLedger``'s reads, a journal on ``stage``) ----------

    def stage(self, decision: Decision) -> None:
        for invoice in decision.invoices:
            key = (invoice.tenant_id, invoice.invoice_no)
            self._journal.append((False, key, self.invoice_rows.get(key)))
        for payment in decision.payments:
            key = (payment.tenant_id, payment.payment_no)
            self._journal.append((True, key, self.payment_rows.get(key)))
        super().stage(decision)
        self._decisions.append(decision)

    # --- loading ---------------------------------------------------------------------------

    def _keys(self, keys: Iterable[Key]) -> tuple[list[str], list[str]]:
        ordered = sorted(keys)
        return [t for t, _ in ordered], [n for _, n in ordered]

    def _holders(self, invoices: set[Key]) -> set[Key]:
        if not invoices:
            return set()
        rows = self._conn.execute(_HOLDERS, self._keys(invoices)).fetchall()
        return {(t, no) for t, no in rows}

    def _lock_payments(self, keys: set[Key]) -> dict[Key, Payment]:
        if not keys:
            return {}
        params = self._keys(keys)
        with self._conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(_LOCK_PAYMENTS, params).fetchall()
            # Read after the payments are locked: only a holder of a payment's lock changes its
            # allocations, so what is read stays true for the rest of the transaction.
            allocations = cur.execute(_ALLOCATIONS_OF_PAYMENTS, params).fetchall()
        held: dict[Key, list[Allocation]] = {}
        for a in allocations:
            held.setdefault((a["tenant_id"], a["payment_no"]), []).append(
                Allocation(a["payment_no"], a["invoice_no"], a["amount"])
            )
        return {
            (r["tenant_id"], r["payment_no"]): payment_of(
                r, held.get((r["tenant_id"], r["payment_no"]), [])
            )
            for r in rows
        }

    def _lock_invoices(self, keys: set[Key]) -> dict[Key, Invoice]:
        if not keys:
            return {}
        with self._conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(_LOCK_INVOICES, self._keys(keys)).fetchall()
        return {(r["tenant_id"], r["invoice_no"]): invoice_of(r) for r in rows}


def invoices_to_lock(named: set[Key], payments: Iterable[Payment]) -> set[Key]:
    """The invoices a batch locks: those its commands name, and every invoice its payments are
    allocated to (what confirm, resolve, cancel and bounce move money on)."""
    return named | {(p.tenant_id, a.invoice_no) for p in payments for a in p.allocations}
