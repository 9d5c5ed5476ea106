"""Payment commands as pure functions: (current aggregates, command, meta) → Decision | Rejected.

Loading and locking, for the adapter. Pass None for an aggregate that does not exist: "not
found" is decided here. An aggregate of another tenant is treated exactly as a missing one
(``not_found``, never ``tenant_mismatch``) so no sender learns what exists in other books.

=================  ===========================  ==========================================
command            payment / invoice argument   mapping argument (key = number)
=================  ===========================  ==========================================
invoice.issue      the invoice (None if new)    -
payment.record     the payment (None if new)    invoices named in ``data.allocations``
payment.confirm    the payment                  invoices the payment is allocated to
payment.resolve    the payment                  invoices the payment is allocated to
payment.cancel     the payment                  invoices the payment is allocated to
…cancel.approve    the payment                  invoices the payment is allocated to
…cancel.reject     the payment                  -
payment.bounce     the payment                  invoices the payment is allocated to
payment.allocate   the payment                  invoices named in ``data.allocations``
payment.release    the payment                  ``data.invoice_no``
invoice.void       the invoice                  payments with a live allocation to it
=================  ===========================  ==========================================

``invoices_to_load(cmd, payment)`` gives the invoice numbers of the table. Lock in one global
order so concurrent commands cannot deadlock: payments by payment_no, then invoices by
invoice_no. For ``invoice.void`` read the payment numbers allocated to the invoice, lock those
payments, then the invoice, then re-read; the invoice lock stops new allocations to it, and a
payment missed in between raises ``IncompleteLoad`` (retry the transaction). Missing a needed
aggregate is always an adapter bug and raises ``IncompleteLoad``, never a ``Rejected``.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.common.domain import Meta
from services.payment_svc.domain.allocating import allocate_payment, release_payment, void_invoice
from services.payment_svc.domain.bouncing import bounce_payment
from services.payment_svc.domain.cancelling import approve_cancel, cancel_payment, reject_cancel
from services.payment_svc.domain.commands import (
    AllocatePayment,
    ApproveCancel,
    BouncePayment,
    CancelPayment,
    Command,
    ConfirmPayment,
    IssueInvoice,
    RecordPayment,
    RejectCancel,
    ReleasePayment,
    ResolvePayment,
    VoidInvoice,
)
from services.payment_svc.domain.events import (
    InvoiceIssued,
)
from services.payment_svc.domain.lifecycle import (
    confirm_payment,
    record_payment,
    resolve_payment,
)
from services.payment_svc.domain.model import (
    CENT,
    Invoice,
    Payment,
    initial_status,
)
from services.payment_svc.domain.outcomes import Decision, Outcome, Rejected
from services.payment_svc.domain.rules import (
    IncompleteLoad,
    already_exists,
    blank,
    check_money,
    status_change,
    visible,
)

__all__ = [
    "IncompleteLoad",
    "allocate_payment",
    "approve_cancel",
    "bounce_payment",
    "cancel_payment",
    "confirm_payment",
    "decide",
    "initial_status",
    "invoices_to_load",
    "issue_invoice",
    "record_payment",
    "reject_cancel",
    "release_payment",
    "resolve_payment",
    "void_invoice",
]


def invoices_to_load(cmd: Command, payment: Payment | None) -> tuple[str, ...]:
    """Invoice numbers the adapter must load (FOR UPDATE, in this sorted order) for ``cmd``."""
    match cmd:
        case IssueInvoice() | VoidInvoice() | ReleasePayment():
            wanted = {cmd.invoice_no}
        case RecordPayment() | AllocatePayment():
            wanted = {line.invoice_no for line in cmd.allocations}
        case (
            ConfirmPayment()
            | ResolvePayment()
            | CancelPayment()
            | ApproveCancel()
            | RejectCancel()
            | BouncePayment()
        ):
            wanted = {a.invoice_no for a in payment.allocations} if payment else set()
    return tuple(sorted(wanted))


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


def decide(
    cmd: Command,
    meta: Meta,
    *,
    payment: Payment | None = None,
    invoice: Invoice | None = None,
    invoices: Mapping[str, Invoice] | None = None,
    payments: Mapping[str, Payment] | None = None,
) -> Outcome:
    """Dispatch ``cmd`` to its function; pass what the docstring table says it needs.

    ``payment`` is the aggregate named by a payment command, ``invoice`` the one named by an
    invoice command; ``invoices``/``payments`` are the mappings of the table's last column.
    """
    loaded_invoices = invoices or {}
    match cmd:
        case IssueInvoice():
            return issue_invoice(invoice, cmd, meta)
        case VoidInvoice():
            return void_invoice(invoice, payments or {}, cmd, meta)
        case RecordPayment():
            return record_payment(payment, loaded_invoices, cmd, meta)
        case ConfirmPayment():
            return confirm_payment(payment, loaded_invoices, cmd, meta)
        case ResolvePayment():
            return resolve_payment(payment, loaded_invoices, cmd, meta)
        case CancelPayment():
            return cancel_payment(payment, loaded_invoices, cmd, meta)
        case ApproveCancel():
            return approve_cancel(payment, loaded_invoices, cmd, meta)
        case RejectCancel():
            return reject_cancel(payment, loaded_invoices, cmd, meta)
        case BouncePayment():
            return bounce_payment(payment, loaded_invoices, cmd, meta)
        case AllocatePayment():
            return allocate_payment(payment, loaded_invoices, cmd, meta)
        case ReleasePayment():
            return release_payment(payment, loaded_invoices, cmd, meta)
