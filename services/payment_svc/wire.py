"""Translation between the wire models (``schemas.payment``) and the pure domain's values.

Commands come in as validated pydantic models and become domain dataclasses; domain events go
out as the exact ``data`` of their wire type (``make_event`` refuses any field the contract lacks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel

from schemas import payment as wire
from services.payment_svc.domain.commands import (
    AllocatePayment,
    AllocationLine,
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
from services.payment_svc.domain.events import Event, InvoiceIssued, InvoiceVoided
from services.payment_svc.domain.model import Giro
from services.payment_svc.domain.outcomes import Decision


def command_of(data: BaseModel) -> Command:
    """The domain command for a validated ``payment.commands`` payload."""
    match data:
        case wire.InvoiceIssue():
            return IssueInvoice(
                invoice_no=data.invoice_no,
                customer_id=data.customer_id,
                amount=data.amount,
                issue_date=data.issue_date,
                due_date=data.due_date,
                order_id=data.order_id,
                currency=data.currency,
                customer_name=data.customer_name,
            )
        case wire.PaymentRecord():
            giro = data.giro
            return RecordPayment(
                payment_no=data.payment_no,
                customer_id=data.customer_id,
                method=data.method,
                amount=data.amount,
                payment_date=data.payment_date,
                channel=data.channel,
                giro=Giro(giro.number, giro.bank, giro.due_date) if giro else None,
                bank_account=data.bank_account,
                collector_id=data.collector_id,
                allocations=_lines(data.allocations),
                currency=data.currency,
                customer_name=data.customer_name,
            )
        case wire.PaymentConfirm():
            return ConfirmPayment(payment_no=data.payment_no)
        case wire.PaymentResolve():
            return ResolvePayment(payment_no=data.payment_no, resolved_date=data.resolved_date)
        case wire.PaymentCancel():
            return CancelPayment(
                payment_no=data.payment_no, reason_code=data.reason_code, reason=data.reason
            )
        case wire.PaymentCancelApprove():
            return ApproveCancel(payment_no=data.payment_no, reason=data.reason)
        case wire.PaymentCancelReject():
            return RejectCancel(payment_no=data.payment_no, reason=data.reason)
        case wire.PaymentBounce():
            return BouncePayment(
                payment_no=data.payment_no,
                reason=data.reason,
                bank_charge=data.bank_charge,
                bounced_date=data.bounced_date,
            )
        case wire.PaymentAllocate():
            return AllocatePayment(payment_no=data.payment_no, allocations=_lines(data.allocations))
        case wire.PaymentRelease():
            return ReleasePayment(
                payment_no=data.payment_no,
                invoice_no=data.invoice_no,
                order_id=data.order_id,
                reason=data.reason,
            )
        case wire.InvoiceVoid():
            return VoidInvoice(
                invoice_no=data.invoice_no, order_id=data.order_id, reason=data.reason
            )
    raise TypeError(f"{type(data).__name__} is not a payment command")


def _lines(allocations: Iterable[wire.Allocation]) -> tuple[AllocationLine, ...]:
    return tuple(AllocationLine(a.invoice_no, a.amount) for a in allocations)


def event_subject(event: Event) -> str:
    """The aggregate id the event is about: its envelope ``subject`` and Kafka key."""
    if isinstance(event, InvoiceIssued | InvoiceVoided):
        return event.invoice_no
    return event.payment_no


# The explicit domain-event → wire mapping. A domain field is either on the wire under its own
# name or listed here as the domain's own; a wire field is either a domain field or filled here
# from the aggregate (IDENTITY) or the decision (``released``). ``event_data`` refuses anything
# else, so a renamed field fails loudly (and tests/unit/payment/test_wire_mapping.py says where)
# instead of silently vanishing from the event.
DOMAIN_ONLY: dict[str, frozenset[str]] = {
    "invoice.issued": frozenset(),
    "invoice.voided": frozenset({"previous_status", "released_payments"}),
    "payment.recorded": frozenset({"bank_account", "collector_id", "invoices"}),
    "payment.confirmed": frozenset({"invoices", "previous_status"}),
    "payment.resolved": frozenset({"invoices", "previous_status"}),
    "payment.cancelled": frozenset({"invoices", "previous_status"}),
    "payment.cancel.requested": frozenset({"previous_status"}),
    "payment.cancel.rejected": frozenset({"previous_status"}),
    "payment.bounced": frozenset({"invoices", "previous_status"}),
    "payment.giro.overdue": frozenset(),
    "payment.allocated": frozenset({"invoices"}),
    "payment.released": frozenset({"invoices"}),
}
IDENTITY = frozenset({"customer_name", "currency", "method", "payment_date", "giro"})
FROM_DECISION = frozenset({"released"})


def event_data(event: Event, decision: Decision) -> dict[str, Any]:
    """``data`` of the wire event for ``event``, one of ``decision``'s events.

    The domain events carry more than the contract (previous status, every touched invoice's
    balance, the payment's bank account): the contract is what the wire model declares, so only
    its fields are kept. ``invoice.voided`` reports what each payment lost, which the domain
    keeps in the decision's allocation changes rather than on the event. Every event also says
    what a person recognises its payment or invoice by (customer name, method, giro, the date
    it was paid), taken from the aggregate's state after the decision.
    """
    model = wire.EVENTS[event.type]
    own = asdict(event)
    unmapped = set(own) - set(model.model_fields) - DOMAIN_ONLY[event.type]
    if unmapped:
        raise TypeError(f"{event.type}: domain fields {sorted(unmapped)} are not in the contract")
    raw = {**_identity(event, decision), **own}
    if isinstance(event, InvoiceVoided):
        raw["released"] = [
            {"payment_no": c.payment_no, "amount": c.amount}
            for c in decision.allocation_changes
            if c.kind == "released" and c.invoice_no == event.invoice_no
        ]
    return {
        name: _plain(value)
        for name, value in raw.items()
        if name in model.model_fields and value is not None
    }


def _identity(event: Event, decision: Decision) -> dict[str, Any]:
    if isinstance(event, InvoiceIssued | InvoiceVoided):
        invoice = next((i for i in decision.invoices if i.invoice_no == event.invoice_no), None)
        if invoice is None:
            return {}
        return {"customer_name": invoice.customer_name, "currency": invoice.currency}
    payment = next((p for p in decision.payments if p.payment_no == event.payment_no), None)
    if payment is None:
        return {}
    return {
        "customer_name": payment.customer_name,
        "currency": payment.currency,
        "method": payment.method,
        "payment_date": payment.payment_date,
        "giro": asdict(payment.giro) if payment.giro is not None else None,
    }


def _plain(value: Any) -> Any:
    # asdict keeps tuples; the wire models hold lists (and JSON has only arrays).
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
