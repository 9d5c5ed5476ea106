"""Postgres repository of payment_svc: lock what a command needs in one order, save decisions.

Lock order (the domain's ``services`` docstring): payments by number, then invoices by number.
Every row a decision writes was locked by ``load_for`` in the same transaction, or is new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import LiteralString

import psycopg

from services.payment_svc.adapters.rows import (
    SCHEMA,
    Conn,
    holders_of,
    read_invoices,
    read_payments,
)
from services.payment_svc.domain.commands import (
    Command,
    IssueInvoice,
    VoidInvoice,
)
from services.payment_svc.domain.model import AllocationChange, Invoice, Payment, StatusChange
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.services import invoices_to_load

__all__ = ["SCHEMA", "Loaded", "LostRace", "load_for", "save_decision"]


class LostRace(psycopg.errors.SerializationFailure):
    """Another transaction changed what this one read before locking; the runtime retries.

    A ``SerializationFailure`` so that ``is_transient`` sees it: the batch is rolled back and the
    command decided again on the current state.
    """


@dataclass(frozen=True)
class Loaded:
    """The locked aggregates of one command, as ``decide`` takes them (see domain ``services``)."""

    payment: Payment | None = None
    invoice: Invoice | None = None
    invoices: Mapping[str, Invoice] = field(default_factory=dict)
    payments: Mapping[str, Payment] = field(default_factory=dict)

    def known_payments(self) -> dict[str, Payment]:
        found = dict(self.payments)
        if self.payment is not None:
            found[self.payment.payment_no] = self.payment
        return found

    def known_invoices(self) -> dict[str, Invoice]:
        found = dict(self.invoices)
        if self.invoice is not None:
            found[self.invoice.invoice_no] = self.invoice
        return found


def load_for(conn: Conn, cmd: Command, tenant_id: str) -> Loaded:
    """Lock and read what ``cmd`` needs: payments by number first, then invoices by number."""
    if isinstance(cmd, IssueInvoice):
        invoices = read_invoices(conn, tenant_id, [cmd.invoice_no], lock=True)
        return Loaded(invoice=invoices.get(cmd.invoice_no))
    if isinstance(cmd, VoidInvoice):
        return _load_for_void(conn, cmd.invoice_no, tenant_id)
    payment = read_payments(conn, tenant_id, [cmd.payment_no], lock=True).get(cmd.payment_no)
    invoices = read_invoices(conn, tenant_id, invoices_to_load(cmd, payment), lock=True)
    return Loaded(payment=payment, invoices=invoices)


def _load_for_void(conn: Conn, invoice_no: str, tenant_id: str) -> Loaded:
    # The holders can only be known by reading before locking the invoice; once it is locked no
    # allocation to it can be added, so a re-read that finds a holder not locked means one slipped
    # in between: give up the transaction rather than lock a payment out of order.
    holders = holders_of(conn, tenant_id, invoice_no)
    payments = read_payments(conn, tenant_id, holders, lock=True)
    invoice = read_invoices(conn, tenant_id, [invoice_no], lock=True).get(invoice_no)
    missed = set(holders_of(conn, tenant_id, invoice_no)) - set(payments)
    if missed:
        raise LostRace(
            f"payments {sorted(missed)} were allocated to invoice {invoice_no} while it was loaded"
        )
    return Loaded(invoice=invoice, payments=payments)


def save_decision(conn: Conn, loaded: Loaded, decision: Decision, *, at: datetime) -> None:
    """Write the decision: aggregates (new ones inserted), live allocations, appended histories.

    ``at`` stamps bookkeeping columns (created_at/updated_at); the domain's own times are in the
    decision. Invoices and payments are written before allocations, which reference both.
    """
    known_invoices = loaded.known_invoices()
    known_payments = loaded.known_payments()
    for invoice in decision.invoices:
        if invoice.invoice_no in known_invoices:
            _update_invoice(conn, invoice, at)
        else:
            _insert_invoice(conn, invoice, at)
    for payment in decision.payments:
        before = known_payments.get(payment.payment_no)
        if before is None:
            _insert_payment(conn, payment, at)
        else:
            _update_payment(conn, payment, at)
        _save_allocations(conn, before, payment, at)
    _append_history(conn, decision.history)
    _append_allocation_changes(conn, decision.allocation_changes)


def _insert_invoice(conn: Conn, invoice: Invoice, at: datetime) -> None:
    _insert_new(
        conn,
        "INSERT INTO payment.invoices (tenant_id, invoice_no, customer_id, amount, currency,"
        " issue_date, due_date, order_id, allocated, settled, voided, voided_at, void_reason,"
        " issued_by, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            invoice.tenant_id,
            invoice.invoice_no,
            invoice.customer_id,
            invoice.amount,
            invoice.currency,
            invoice.issue_date,
            invoice.due_date,
            invoice.order_id,
            invoice.allocated,
            invoice.settled,
            invoice.voided,
            invoice.voided_at,
            invoice.void_reason,
            invoice.issued_by,
            at,
            at,
        ),
        f"invoice {invoice.invoice_no}",
    )


def _update_invoice(conn: Conn, invoice: Invoice, at: datetime) -> None:
    # Only what commands change after issue: the totals and the void.
    conn.execute(
        "UPDATE payment.invoices SET allocated = %s, settled = %s, voided = %s, voided_at = %s,"
        " void_reason = %s, updated_at = %s WHERE tenant_id = %s AND invoice_no = %s",
        (
            invoice.allocated,
            invoice.settled,
            invoice.voided,
            invoice.voided_at,
            invoice.void_reason,
            at,
            invoice.tenant_id,
            invoice.invoice_no,
        ),
    )


def _insert_payment(conn: Conn, payment: Payment, at: datetime) -> None:
    giro = payment.giro
    _insert_new(
        conn,
        "INSERT INTO payment.payments (tenant_id, payment_no, customer_id, method, channel,"
        " amount, currency, payment_date, status, giro_number, giro_bank, giro_due_date,"
        " bank_account, collector_id, resolved_date, cancel_reason_code, cancel_reason,"
        " recorded_by, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            payment.tenant_id,
            payment.payment_no,
            payment.customer_id,
            payment.method,
            payment.channel,
            payment.amount,
            payment.currency,
            payment.payment_date,
            payment.status,
            giro.number if giro else None,
            giro.bank if giro else None,
            giro.due_date if giro else None,
            payment.bank_account,
            payment.collector_id,
            payment.resolved_date,
            payment.cancel_reason_code,
            payment.cancel_reason,
            payment.recorded_by,
            at,
            at,
        ),
        f"payment {payment.payment_no}",
    )


def _update_payment(conn: Conn, payment: Payment, at: datetime) -> None:
    conn.execute(
        "UPDATE payment.payments SET status = %s, resolved_date = %s, cancel_reason_code = %s,"
        " cancel_reason = %s, updated_at = %s WHERE tenant_id = %s AND payment_no = %s",
        (
            payment.status,
            payment.resolved_date,
            payment.cancel_reason_code,
            payment.cancel_reason,
            at,
            payment.tenant_id,
            payment.payment_no,
        ),
    )


def _insert_new(conn: Conn, query: LiteralString, params: tuple[object, ...], what: str) -> None:
    # A number that did not exist when read may have been created by a concurrent transaction
    # since; deciding again (which then sees it) is the right answer, so report a lost race.
    try:
        with conn.transaction():
            conn.execute(query, params)
    except psycopg.errors.UniqueViolation as exc:
        raise LostRace(f"{what} was created by a concurrent transaction") from exc


def _save_allocations(conn: Conn, before: Payment | None, after: Payment, at: datetime) -> None:
    old: dict[str, Decimal] = {a.invoice_no: a.amount for a in before.allocations} if before else {}
    new = {a.invoice_no: a.amount for a in after.allocations}
    gone = sorted(set(old) - set(new))
    if gone:
        conn.execute(
            "DELETE FROM payment.allocations"
            " WHERE tenant_id = %s AND payment_no = %s AND invoice_no = ANY(%s)",
            (after.tenant_id, after.payment_no, gone),
        )
    changed = [(no, amount) for no, amount in sorted(new.items()) if old.get(no) != amount]
    if changed:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO payment.allocations"
                " (tenant_id, payment_no, invoice_no, amount, updated_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, payment_no, invoice_no)"
                " DO UPDATE SET amount = EXCLUDED.amount, updated_at = EXCLUDED.updated_at",
                [(after.tenant_id, after.payment_no, no, amount, at) for no, amount in changed],
            )


def _append_history(conn: Conn, entries: tuple[StatusChange, ...]) -> None:
    if not entries:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO payment.status_history (tenant_id, entity, entity_id, from_status,"
            " to_status, at, actor, command_id, reason_code, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    e.tenant_id,
                    e.entity,
                    e.entity_id,
                    e.from_status,
                    e.to_status,
                    e.at,
                    e.actor,
                    e.command_id,
                    e.reason_code,
                    e.reason,
                )
                for e in entries
            ],
        )


def _append_allocation_changes(conn: Conn, changes: tuple[AllocationChange, ...]) -> None:
    if not changes:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO payment.allocation_history (tenant_id, payment_no, invoice_no, kind,"
            " amount, at, actor, command_id, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    c.tenant_id,
                    c.payment_no,
                    c.invoice_no,
                    c.kind,
                    c.amount,
                    c.at,
                    c.actor,
                    c.command_id,
                    c.reason,
                )
                for c in changes
            ],
        )
