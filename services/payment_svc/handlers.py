"""payment_svc's handlers, one small function per command type, looked up in ``HANDLERS``.

Each takes the aggregates its command needs from the batch's unit of work, checks who may send
it (``domain.policy``), asks the pure domain to decide, stages the decision and returns the
events to publish. None of them sees SQL: the runtime writes every staged decision, the inbox
and the outbox in the batch's one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, TypeVar

from schemas import Envelope, topics
from services.common.domain import Meta, Rejected
from services.common.runtime import Accepted, Handler, MessageContext, Outcome
from services.common.runtime.seam import Await, Ref
from services.payment_svc.adapters.unit_of_work import PaymentUnitOfWork
from services.payment_svc.domain import commands as c
from services.payment_svc.domain.allocating import allocate_payment, release_payment, void_invoice
from services.payment_svc.domain.bouncing import bounce_payment
from services.payment_svc.domain.cancelling import approve_cancel, cancel_payment, reject_cancel
from services.payment_svc.domain.lifecycle import (
    confirm_payment,
    record_payment,
    resolve_payment,
)
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.policy import authorize
from services.payment_svc.domain.services import issue_invoice
from services.payment_svc.wire import command_of, event_data, event_subject

UoW = PaymentUnitOfWork
C = TypeVar("C")


class _PaymentCommand(Protocol):
    @property
    def payment_no(self) -> str: ...


P = TypeVar("P", bound=_PaymentCommand)


def handle_issue_invoice(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    cmd, meta = _command(msg, c.IssueInvoice), _meta(msg)
    return _staged(uow, ctx, issue_invoice(uow.invoice(meta.tenant_id, cmd.invoice_no), cmd, meta))


def handle_void_invoice(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    cmd, meta = _command(msg, c.VoidInvoice), _meta(msg)
    if refused := authorize(msg.type, meta, uow.admins, order_id=cmd.order_id):
        return refused
    invoice = uow.invoice(meta.tenant_id, cmd.invoice_no)
    if invoice is None and ctx.may_wait:
        return Await((Ref("invoice", meta.tenant_id, cmd.invoice_no),))
    holders = uow.holders(meta.tenant_id, cmd.invoice_no)
    return _staged(uow, ctx, void_invoice(invoice, holders, cmd, meta))


def handle_record(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    cmd, meta = _command(msg, c.RecordPayment), _meta(msg)
    payment = uow.payment(meta.tenant_id, cmd.payment_no)
    invoices = uow.invoices(meta.tenant_id, (line.invoice_no for line in cmd.allocations))
    if waits := _missing(ctx, meta, None, cmd.allocations, invoices):
        return waits
    return _staged(uow, ctx, record_payment(payment, invoices, cmd, meta))


def handle_allocate(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    cmd, meta = _command(msg, c.AllocatePayment), _meta(msg)
    payment = uow.payment(meta.tenant_id, cmd.payment_no)
    invoices = uow.invoices(meta.tenant_id, (line.invoice_no for line in cmd.allocations))
    if waits := _missing(ctx, meta, (cmd.payment_no, payment), cmd.allocations, invoices):
        return waits
    return _staged(uow, ctx, allocate_payment(payment, invoices, cmd, meta))


def handle_release(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    cmd, meta = _command(msg, c.ReleasePayment), _meta(msg)
    if refused := authorize(msg.type, meta, uow.admins, order_id=cmd.order_id):
        return refused
    payment = uow.payment(meta.tenant_id, cmd.payment_no)
    if waits := _missing(ctx, meta, (cmd.payment_no, payment)):
        return waits
    invoices = uow.invoices(meta.tenant_id, [cmd.invoice_no])
    return _staged(uow, ctx, release_payment(payment, invoices, cmd, meta))


def handle_confirm(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    return _on_payment(msg, uow, ctx, c.ConfirmPayment, confirm_payment)


def handle_resolve(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    return _on_payment(msg, uow, ctx, c.ResolvePayment, resolve_payment)


def handle_cancel(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    def decide(
        payment: Payment | None, invoices: Mapping[str, Invoice], cmd: c.CancelPayment, meta: Meta
    ) -> Decision | Rejected:
        threshold = uow.approval_amounts.for_tenant(meta.tenant_id)
        return cancel_payment(payment, invoices, cmd, meta, threshold)

    return _on_payment(msg, uow, ctx, c.CancelPayment, decide)


def handle_approve_cancel(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    return _on_payment(msg, uow, ctx, c.ApproveCancel, approve_cancel)


def handle_reject_cancel(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    # A rejection moves no money: it needs none of the payment's invoices.
    return _on_payment(msg, uow, ctx, c.RejectCancel, reject_cancel, invoices=False)


def handle_bounce(msg: Envelope, *, uow: UoW, ctx: MessageContext) -> Outcome:
    return _on_payment(msg, uow, ctx, c.BouncePayment, bounce_payment)


HANDLERS: Mapping[str, Handler[UoW]] = {
    "invoice.issue": handle_issue_invoice,
    "invoice.void": handle_void_invoice,
    "payment.record": handle_record,
    "payment.allocate": handle_allocate,
    "payment.release": handle_release,
    "payment.confirm": handle_confirm,
    "payment.resolve": handle_resolve,
    "payment.cancel": handle_cancel,
    "payment.cancel.approve": handle_approve_cancel,
    "payment.cancel.reject": handle_reject_cancel,
    "payment.bounce": handle_bounce,
}


# --- shared steps ---------------------------------------------------------------------------


def _on_payment(
    msg: Envelope,
    uow: UoW,
    ctx: MessageContext,
    kind: type[P],
    decide: Callable[[Payment | None, Mapping[str, Invoice], P, Meta], Decision | Rejected],
    *,
    invoices: bool = True,
) -> Outcome:
    """A command on one payment the sender must be allowed to touch: load it, check the sender,
    wait while it does not exist yet, then decide on it and (``invoices``) the invoices it is
    allocated to, and stage the decision."""
    cmd, meta = _command(msg, kind), _meta(msg)
    payment = uow.payment(meta.tenant_id, cmd.payment_no)
    if refused := authorize(msg.type, meta, uow.admins, payment=payment):
        return refused
    if waits := _missing(ctx, meta, (cmd.payment_no, payment)):
        return waits
    allocated = _allocated(uow, meta, payment) if invoices else {}
    return _staged(uow, ctx, decide(payment, allocated, cmd, meta))


def _staged(uow: UoW, ctx: MessageContext, outcome: Decision | Rejected) -> Outcome:
    """Stage an accepted decision and turn its domain events into wire events."""
    if isinstance(outcome, Rejected):
        return outcome
    uow.stage(outcome)
    return Accepted(
        tuple(
            ctx.event(
                topics.PAYMENT_EVENTS,
                event.type,
                event_data(event, outcome),
                subject=event_subject(event),
            )
            for event in outcome.events
        )
    )


def _missing(
    ctx: MessageContext,
    meta: Meta,
    payment: tuple[str, Payment | None] | None,
    lines: Iterable[c.AllocationLine] = (),
    invoices: Mapping[str, Invoice] | None = None,
) -> Await | None:
    """What the command names that does not exist yet, to wait for (DESIGN "Order and waiting");
    None when all exists, or when it may wait no longer (the domain then says ``not_found``)."""
    if not ctx.may_wait:
        return None
    refs = [Ref("payment", meta.tenant_id, payment[0])] if payment and payment[1] is None else []
    known = invoices or {}
    refs += [
        Ref("invoice", meta.tenant_id, no)
        for no in sorted({line.invoice_no for line in lines} - set(known))
    ]
    return Await(tuple(refs)) if refs else None


def _allocated(uow: UoW, meta: Meta, payment: Payment | None) -> dict[str, Invoice]:
    """The invoices the payment is allocated to (what confirm, resolve and cancel touch)."""
    allocations = payment.allocations if payment is not None else ()
    return uow.invoices(meta.tenant_id, (a.invoice_no for a in allocations))


def _command(msg: Envelope, kind: type[C]) -> C:
    cmd = command_of(msg.data)
    if not isinstance(cmd, kind):
        raise TypeError(f"{msg.type} carries {type(cmd).__name__}, expected {kind.__name__}")
    return cmd


def _meta(msg: Envelope) -> Meta:
    # The codec refuses a command without an actor, so "" is never seen in practice; the
    # history records when the sender did it (the command's time).
    return Meta(tenant_id=msg.tenantid, actor=msg.actor or "", command_id=msg.id, at=msg.time)
