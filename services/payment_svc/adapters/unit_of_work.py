"""payment_svc's unit of work: a batch's payments and invoices, locked, decided on, written back.

Loading (``load``), one query per table for the whole batch:
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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString

from psycopg.rows import dict_row

from schemas import Envelope
from schemas import payment as wire
from services.common.runtime.seam import Connection, LostRace, Ref
from services.payment_svc.adapters.rows import (
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    invoice_of,
    payment_of,
)
from services.payment_svc.adapters.writes import batch_statements
from services.payment_svc.domain.commands import (
    Command,
    IssueInvoice,
    VoidInvoice,
)
from services.payment_svc.domain.model import Allocation, Invoice, Payment
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.policy import ApprovalAmounts
from services.payment_svc.domain.services import invoices_to_load
from services.payment_svc.wire import command_of

Key = tuple[str, str]  # (tenant_id, number)

_KEYS: LiteralString = "unnest(%b::text[], %b::text[]) AS k(t, n)"

_LOCK_PAYMENTS: LiteralString = (
    "SELECT " + PAYMENT_COLUMNS + " FROM payment.payments p JOIN " + _KEYS + ""
    " ON p.tenant_id = k.t AND p.payment_no = k.n"
    ' ORDER BY p.tenant_id COLLATE "C", p.payment_no COLLATE "C" FOR UPDATE OF p'
)
_LOCK_INVOICES: LiteralString = (
    "SELECT " + INVOICE_COLUMNS + " FROM payment.invoices i JOIN " + _KEYS + ""
    " ON i.tenant_id = k.t AND i.invoice_no = k.n"
    ' ORDER BY i.tenant_id COLLATE "C", i.invoice_no COLLATE "C" FOR UPDATE OF i'
)
_ALLOCATIONS_OF_PAYMENTS: LiteralString = (
    "SELECT a.tenant_id, a.payment_no, a.invoice_no, a.amount FROM payment.allocations a"
    " JOIN " + _KEYS + " ON a.tenant_id = k.t AND a.payment_no = k.n"
)
_HOLDERS: LiteralString = (
    "SELECT a.tenant_id, a.payment_no FROM payment.allocations a"
    " JOIN " + _KEYS + " ON a.tenant_id = k.t AND a.invoice_no = k.n"
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


class PaymentUnitOfWork:
    """The payments and invoices of one batch; see the module docstring."""

    def __init__(
        self, conn: Connection, now: datetime, deps: PaymentDependencies | None = None
    ) -> None:
        self._conn = conn
        self._now = now
        deps = deps or PaymentDependencies()
        self.admins = deps.admins
        self.approval_amounts = deps.approval_amounts
        self._payments: dict[Key, Payment] = {}
        self._invoices: dict[Key, Invoice] = {}
        self._loaded_payments: dict[Key, Payment] = {}
        self._loaded_invoices: dict[Key, Invoice] = {}
        # (is_payment, key, value before) for every staged write, to undo a failed message.
        self._journal: list[tuple[bool, Key, Payment | Invoice | None]] = []
        self._decisions: list[Decision] = []

    # --- the runtime's side ----------------------------------------------------------------

    def prepare(self, messages: Sequence[Envelope]) -> None:
        """payment_svc asks nothing of the outside world."""

    def load(self, messages: Sequence[Envelope]) -> None:
        self.load_commands([(m.tenantid, c) for m in messages if (c := _command(m)) is not None])

    def load_commands(self, commands: Sequence[tuple[str, Command]]) -> None:
        """``load`` for (tenant, domain command) pairs."""
        voided = {(t, c.invoice_no) for t, c in commands if isinstance(c, VoidInvoice)}
        holders = self._holders(voided)
        payment_keys = {(t, no) for t, c in commands if (no := _payment_no(c)) is not None}
        payments = self._lock_payments(payment_keys | holders)
        invoice_keys = {
            (p.tenant_id, a.invoice_no) for p in payments.values() for a in p.allocations
        }
        for tenant, cmd in commands:
            no = _payment_no(cmd)
            payment = payments.get((tenant, no)) if no is not None else None
            invoice_keys.update(
                (tenant, invoice_no) for invoice_no in invoices_to_load(cmd, payment)
            )
        invoices = self._lock_invoices(invoice_keys)
        missed = self._holders(voided) - set(payments)
        if missed:
            raise LostRace(
                f"payments {sorted(missed)} were allocated to a voided invoice meanwhile"
            )
        self._payments = dict(payments)
        self._invoices = dict(invoices)
        self._loaded_payments = payments
        self._loaded_invoices = invoices

    def mark(self) -> object:
        return _Mark(len(self._journal), len(self._decisions))

    def undo(self, mark: object) -> None:
        assert isinstance(mark, _Mark)
        while len(self._journal) > mark.journal:
            is_payment, key, before = self._journal.pop()
            target: dict[Key, Any] = self._payments if is_payment else self._invoices
            if before is None:
                target.pop(key, None)
            else:
                target[key] = before
        del self._decisions[mark.decisions :]

    def flush(self) -> None:
        invoices = {k for is_payment, k, _ in self._journal if not is_payment}
        payments = {k for is_payment, k, _ in self._journal if is_payment}
        statements = batch_statements(
            invoices=[self._invoices[k] for k in sorted(invoices)],
            payments=[self._payments[k] for k in sorted(payments)],
            loaded_invoices=self._loaded_invoices,
            loaded_payments=self._loaded_payments,
            decisions=self._decisions,
            at=self._now,
        )
        for query, params in statements:
            self._conn.execute(query, params)

    # --- the handlers' side ----------------------------------------------------------------

    def payment(self, tenant_id: str, payment_no: str) -> Payment | None:
        return self._payments.get((tenant_id, payment_no))

    def invoice(self, tenant_id: str, invoice_no: str) -> Invoice | None:
        return self._invoices.get((tenant_id, invoice_no))

    def invoices(self, tenant_id: str, invoice_nos: Iterable[str]) -> dict[str, Invoice]:
        """The tenant's invoices among ``invoice_nos`` that exist (missing ones absent)."""
        found = ((no, self._invoices.get((tenant_id, no))) for no in invoice_nos)
        return {no: inv for no, inv in found if inv is not None}

    def holders(self, tenant_id: str, invoice_no: str) -> dict[str, Payment]:
        """The payments with a live allocation to the invoice, as staged so far."""
        return {
            p.payment_no: p
            for (t, _), p in self._payments.items()
            if t == tenant_id and any(a.invoice_no == invoice_no for a in p.allocations)
        }

    def exists(self, ref: Ref) -> bool:
        key = (ref.tenant_id, ref.id)
        if ref.kind == "payment":
            return key in self._payments
        return ref.kind == "invoice" and key in self._invoices

    def stage(self, decision: Decision) -> None:
        for invoice in decision.invoices:
            key = (invoice.tenant_id, invoice.invoice_no)
            self._journal.append((False, key, self._invoices.get(key)))
            self._invoices[key] = invoice
        for payment in decision.payments:
            key = (payment.tenant_id, payment.payment_no)
            self._journal.append((True, key, self._payments.get(key)))
            self._payments[key] = payment
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


def _command(msg: Envelope) -> Command | None:
    # A payload the handler cannot translate is its own failure, found when it runs.
    if msg.type not in wire.COMMANDS:
        return None
    try:
        return command_of(msg.data)
    except (TypeError, ValueError):
        return None


def _payment_no(cmd: Command) -> str | None:
    if isinstance(cmd, IssueInvoice | VoidInvoice):
        return None
    return cmd.payment_no
