"""Issuing an invoice: the first state of an invoice, never a second one for the same number."""

from __future__ import annotations

from services.common.domain import Meta
from services.payment_svc.domain.commands import IssueInvoice
from services.payment_svc.domain.events import InvoiceIssued
from services.payment_svc.domain.model import CENT, Invoice
from services.payment_svc.domain.outcomes import Decision, Outcome, Rejected
from services.payment_svc.domain.rules import (
    already_exists,
    blank,
    check_money,
    status_change,
    visible,
)


def issue_invoice(existing: Invoice | None, cmd: IssueInvoice, meta: Meta) -> Outcome:
    current = visible(existing, meta)
    if current is not None:
        return already_exists("invoice", cmd.invoice_no, current.issued_by, meta)
    bad = blank(invoice_no=cmd.invoice_no, customer_id=cmd.customer_id)
    bad = bad or check_money(cmd.amount, "invoice amount")
    if bad is not None:
        return bad
    if cmd.due_date is not None and cmd.due_date < cmd.issue_date:
        return Rejected(
            "invalid", f"due date {cmd.due_date} is before the issue date {cmd.issue_date}"
        )
    invoice = Invoice(
        tenant_id=meta.tenant_id,
        invoice_no=cmd.invoice_no,
        customer_id=cmd.customer_id,
        amount=cmd.amount.quantize(CENT),
        currency=cmd.currency,
        issue_date=cmd.issue_date,
        due_date=cmd.due_date,
        order_id=cmd.order_id,
        issued_by=meta.command_id,
        customer_name=cmd.customer_name,
    )
    event = InvoiceIssued(
        invoice_no=invoice.invoice_no,
        customer_id=invoice.customer_id,
        amount=invoice.amount,
        currency=invoice.currency,
        outstanding=invoice.outstanding,
        status=invoice.status,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        order_id=invoice.order_id,
    )
    history = status_change(invoice, None, invoice.status, meta)
    return Decision(invoices=(invoice,), events=(event,), history=(history,))
