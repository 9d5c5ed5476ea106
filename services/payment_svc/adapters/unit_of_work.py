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
the histories, in a handful of statements (``unnest`` arrays), inside the runtime's pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, LiteralString

from psycopg.rows import dict_row

from schemas import Envelope
from schemas import payment as wire
from services.common.runtime.consumer import Connection, LostRace
from services.common.runtime.seam import Ref
from services.payment_svc.adapters.rows import (
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    invoice_of,
    payment_of,
)
from services.payment_svc.domain.commands import (
    Command,
    IssueInvoice,
    VoidInvoice,
)
from services.payment_svc.domain.model import Allocation, Invoice, Payment
from services.payment_svc.domain.outcomes import Decision
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


class PaymentUnitOfWork:
    """The payments and invoices of one batch; see the module docstring."""

    def __init__(
        self, conn: Connection, now: datetime, deps: PaymentDependencies | None = None
    ) -> None:
        self._conn = conn
        self._now = now
        self.admins = (deps or PaymentDependencies()).admins
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
        writes = _Writes.of(self)
        for query, params in writes.statements():
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


class _Writes:
    """The final state of a batch, as a few array statements."""

    def __init__(self) -> None:
        self.statements_: list[tuple[LiteralString, tuple[Any, ...]]] = []

    @classmethod
    def of(cls, uow: PaymentUnitOfWork) -> _Writes:
        writes = cls()
        at = uow._now
        changed_invoices = {k for is_p, k, _ in uow._journal if not is_p}
        changed_payments = {k for is_p, k, _ in uow._journal if is_p}
        invoices = [uow._invoices[k] for k in sorted(changed_invoices)]
        payments = [uow._payments[k] for k in sorted(changed_payments)]
        new_inv = [i for i in invoices if (i.tenant_id, i.invoice_no) not in uow._loaded_invoices]
        old_inv = [i for i in invoices if (i.tenant_id, i.invoice_no) in uow._loaded_invoices]
        new_pay = [p for p in payments if (p.tenant_id, p.payment_no) not in uow._loaded_payments]
        old_pay = [p for p in payments if (p.tenant_id, p.payment_no) in uow._loaded_payments]
        writes.insert_invoices(new_inv, at)
        writes.update_invoices(old_inv, at)
        writes.insert_payments(new_pay, at)
        writes.update_payments(old_pay, at)
        writes.allocations(payments, uow._loaded_payments, at)
        writes.histories(uow._decisions)
        return writes

    def statements(self) -> list[tuple[LiteralString, tuple[Any, ...]]]:
        return self.statements_

    def add(
        self, query: LiteralString, columns: list[list[Any]], *, prefix: tuple[Any, ...] = ()
    ) -> None:
        """One statement over parallel arrays, ``prefix`` parameters first; none if no rows."""
        if columns[0]:
            self.statements_.append((query, (*prefix, *columns)))

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
            " recorded_by, customer_name, recorded_actor, created_at, updated_at)"
            " SELECT t, n, c, m, ch, a, cur, pd, s, gn, gb, gd, ba, co, rd, crc, cr, rb, cn, ra,"
            " %s, %s FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
            " %b::numeric[], %b::text[], %b::date[], %b::text[], %b::text[], %b::text[],"
            " %b::date[], %b::text[], %b::text[], %b::date[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::text[])"
            " AS u(t, n, c, m, ch, a, cur, pd, s, gn, gb, gd, ba, co, rd, crc, cr, rb, cn, ra)",
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
            ],
            prefix=(at, at),
        )

    def update_payments(self, rows: list[Payment], at: datetime) -> None:
        self.add(
            "UPDATE payment.payments p SET status = u.s, resolved_date = u.rd,"
            " cancel_reason_code = u.crc, cancel_reason = u.cr, updated_at = %s FROM unnest("
            "%b::text[], %b::text[], %b::text[], %b::date[], %b::text[], %b::text[])"
            " AS u(t, n, s, rd, crc, cr) WHERE p.tenant_id = u.t AND p.payment_no = u.n",
            [
                [p.tenant_id for p in rows],
                [p.payment_no for p in rows],
                [p.status for p in rows],
                [p.resolved_date for p in rows],
                [p.cancel_reason_code for p in rows],
                [p.cancel_reason for p in rows],
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
