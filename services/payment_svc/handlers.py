"""payment_svc's commands, each declared once (docs/ARCHITECTURE.md "One command").

A ``CommandSpec`` per command type says everything about it: its wire model, its translation,
what it loads and may wait for, who may send it, its decision and the events it may emit.
``TABLE`` derives the rest: ``HANDLERS`` (what the runtime looks messages up in), the unit of
work's keys (``TABLE.names``), the topics and the dispatch the tests and the chaos oracle use
(``TABLE.decide``). None of it sees SQL: the runtime writes every staged decision, the inbox and
the outbox in the batch's one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Protocol

from pydantic import BaseModel

from schemas import payment as wire
from schemas import topics
from services.common.domain import Meta, Rejected
from services.common.runtime import Accepted, Handler, MessageContext, Outcome
from services.common.runtime.seam import (
    CommandSpec,
    CommandTable,
    Name,
    Ref,
    anyone,
    subject_of,
)
from services.payment_svc.domain import commands as c
from services.payment_svc.domain.allocating import allocate_payment, release_payment, void_invoice
from services.payment_svc.domain.bouncing import bounce_payment
from services.payment_svc.domain.cancelling import approve_cancel, cancel_payment, reject_cancel
from services.payment_svc.domain.invoicing import issue_invoice
from services.payment_svc.domain.lifecycle import confirm_payment, record_payment, resolve_payment
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.noting import note_payment
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.policy import ANYONE, ApprovalAmounts, Rule, admin
from services.payment_svc.domain.rules import payment_not_found, visible
from services.payment_svc.wire import event_data, translate_as


class Ledger(Protocol):
    """The batch's payments and invoices as the declarations see them: ``PaymentUnitOfWork``
    in production, ``MemoryLedger`` in the unit tests and the chaos oracle."""

    admins: frozenset[str]
    approval_amounts: ApprovalAmounts

    def payment(self, tenant_id: str, payment_no: str) -> Payment | None: ...
    def invoice(self, tenant_id: str, invoice_no: str) -> Invoice | None: ...
    def invoices(self, tenant_id: str, invoice_nos: Iterable[str]) -> dict[str, Invoice]: ...
    def holders(self, tenant_id: str, invoice_no: str) -> dict[str, Payment]: ...
    def exists(self, ref: Ref) -> bool: ...
    def stage(self, decision: Decision) -> None: ...


class _OnPayment(Protocol):
    @property
    def payment_no(self) -> str: ...


PaymentDecision = Callable[[Payment, Mapping[str, Invoice], Any, Meta], Decision | Rejected]
# Which invoices a decision on a payment is given (``_on_payment``).
InvoicesOf = Callable[[Any, Meta, "Ledger", Payment], Mapping[str, Invoice]]
Decide = Callable[[Any, Meta, "Ledger"], Decision | Rejected]


# --- what the declarations are made of ---------------------------------------------------------


def _who(rule: Rule) -> Callable[[Any, Meta, Ledger], Rejected | None]:
    """The policy of ``rule``, given the payment the command names (for four eyes) and the
    order it names (for ``system:pickup``)."""
    if rule == ANYONE:
        return anyone

    def policy(cmd: Any, meta: Meta, uow: Ledger) -> Rejected | None:
        no = getattr(cmd, "payment_no", None)
        payment = visible(uow.payment(meta.tenant_id, no), meta) if no is not None else None
        return rule.check(
            meta, uow.admins, payment=payment, order_id=getattr(cmd, "order_id", None)
        )

    return policy


def _payment(cmd: _OnPayment) -> tuple[Name, ...]:
    return (("payment", cmd.payment_no),)


def _invoice(cmd: c.IssueInvoice | c.VoidInvoice) -> tuple[Name, ...]:
    return (("invoice", cmd.invoice_no),)


def _lines(cmd: c.RecordPayment | c.AllocatePayment) -> tuple[Name, ...]:
    return tuple(("invoice", no) for no in sorted({line.invoice_no for line in cmd.allocations}))


def _found(uow: Ledger, meta: Meta, payment_no: str) -> Payment | Rejected:
    """The payment a command names, or ``not_found``: another tenant's payment is reported as a
    missing one, so a sender never learns that a number exists in someone else's books."""
    payment = visible(uow.payment(meta.tenant_id, payment_no), meta)
    return payment if payment is not None else payment_not_found(payment_no)


def _allocated(cmd: Any, meta: Meta, uow: Ledger, payment: Payment) -> dict[str, Invoice]:
    """The invoices ``payment`` is allocated to (what confirm, resolve, cancel move money on)."""
    return uow.invoices(meta.tenant_id, (a.invoice_no for a in payment.allocations))


def _named_lines(
    cmd: c.RecordPayment | c.AllocatePayment, meta: Meta, uow: Ledger, payment: Payment | None
) -> Any:
    """The invoices the command's allocation lines name."""
    return uow.invoices(meta.tenant_id, (line.invoice_no for line in cmd.allocations))


def _named_invoice(cmd: c.ReleasePayment, meta: Meta, uow: Ledger, payment: Payment) -> Any:
    return uow.invoices(meta.tenant_id, [cmd.invoice_no])


def _none(cmd: Any, meta: Meta, uow: Ledger, payment: Payment) -> dict[str, Invoice]:
    return {}


def _on_payment(decide: PaymentDecision, invoices: InvoicesOf = _allocated) -> Decide:
    """A decision on the payment the command names (``not_found`` when there is none) and the
    ``invoices`` it moves money on."""

    def decision(cmd: _OnPayment, meta: Meta, uow: Ledger) -> Decision | Rejected:
        payment = _found(uow, meta, cmd.payment_no)
        if isinstance(payment, Rejected):
            return payment
        return decide(payment, invoices(cmd, meta, uow, payment), cmd, meta)

    return decision


def _record(cmd: c.RecordPayment, meta: Meta, uow: Ledger) -> Decision | Rejected:
    existing = uow.payment(meta.tenant_id, cmd.payment_no)
    return record_payment(existing, _named_lines(cmd, meta, uow, existing), cmd, meta)


def _issue(cmd: c.IssueInvoice, meta: Meta, uow: Ledger) -> Decision | Rejected:
    return issue_invoice(uow.invoice(meta.tenant_id, cmd.invoice_no), cmd, meta)


def _void(cmd: c.VoidInvoice, meta: Meta, uow: Ledger) -> Decision | Rejected:
    holders = uow.holders(meta.tenant_id, cmd.invoice_no)
    return void_invoice(uow.invoice(meta.tenant_id, cmd.invoice_no), holders, cmd, meta)


def _cancel(cmd: c.CancelPayment, meta: Meta, uow: Ledger) -> Decision | Rejected:
    # The four-eyes amount is the tenant's (``LUNAS_PAYMENT_CANCEL_APPROVAL_AMOUNT…``).
    threshold = uow.approval_amounts.for_tenant(meta.tenant_id)
    return _on_payment(partial(cancel_payment, approval_amount=threshold))(cmd, meta, uow)


def _spec(
    type_: str,
    kind: type[Any],
    decide: Callable[..., Any],
    emits: Iterable[str],
    *,
    loads: Callable[..., Iterable[Name]],
    waits_for: Callable[..., Iterable[Name]] | None = None,
    who: Rule = ANYONE,
) -> CommandSpec[Any, Ledger]:
    model: type[BaseModel] = wire.COMMANDS[type_]
    RULES[type_] = who
    return CommandSpec(
        type=type_,
        topic=topics.PAYMENT_COMMANDS,
        wire=model,
        translate=translate_as(kind),
        decide=decide,
        emits=frozenset(emits),
        loads=loads,
        waits_for=waits_for if waits_for is not None else loads,
        policy=_who(who),
    )


def _payment_then_lines(cmd: c.RecordPayment | c.AllocatePayment) -> tuple[Name, ...]:
    return (*_payment(cmd), *_lines(cmd))


def _release_loads(cmd: c.ReleasePayment) -> tuple[Name, ...]:
    return (*_payment(cmd), ("invoice", cmd.invoice_no))


def _void_loads(cmd: c.VoidInvoice) -> tuple[Name, ...]:
    # ``holders``: the payments with a live allocation to the invoice, locked before it.
    return (*_invoice(cmd), ("holders", cmd.invoice_no))


RULES: dict[str, Rule] = {}  # filled by ``_spec``: who may send each command type

# --- the declarations ---------------------------------------------------------------------------

SPECS: tuple[CommandSpec[Any, Ledger], ...] = (
    _spec(
        "invoice.issue",
        c.IssueInvoice,
        _issue,
        ["invoice.issued"],
        loads=_invoice,
        waits_for=lambda cmd: (),
    ),
    _spec(
        "invoice.void",
        c.VoidInvoice,
        _void,
        ["invoice.voided", "payment.released"],
        loads=_void_loads,
        waits_for=_invoice,
        who=admin("void invoices", pickup_for_order=True),
    ),
    _spec(
        "payment.record",
        c.RecordPayment,
        _record,
        ["payment.recorded"],
        loads=_payment_then_lines,
        waits_for=_lines,  # a new payment waits for the invoices it pays, never for itself
    ),
    _spec(
        "payment.allocate",
        c.AllocatePayment,
        _on_payment(allocate_payment, _named_lines),
        ["payment.allocated"],
        loads=_payment_then_lines,
    ),
    _spec(
        "payment.release",
        c.ReleasePayment,
        _on_payment(release_payment, _named_invoice),
        ["payment.released"],
        loads=_release_loads,
        waits_for=_payment,
        who=admin("release payment allocations", pickup_for_order=True),
    ),
    _spec(
        "payment.confirm",
        c.ConfirmPayment,
        _on_payment(confirm_payment),
        ["payment.confirmed"],
        loads=_payment,
        who=admin("confirm payments", not_the="recorder"),
    ),
    _spec(
        "payment.resolve",
        c.ResolvePayment,
        _on_payment(resolve_payment),
        ["payment.resolved"],
        loads=_payment,
        who=admin("resolve giro/cheque payments"),
    ),
    _spec(
        "payment.cancel",
        c.CancelPayment,
        _cancel,
        ["payment.cancelled", "payment.cancel.requested"],
        loads=_payment,
        who=admin("cancel payments"),
    ),
    _spec(
        "payment.cancel.approve",
        c.ApproveCancel,
        _on_payment(approve_cancel),
        ["payment.cancelled"],
        loads=_payment,
        who=admin("approve payment cancellations", not_the="requester"),
    ),
    _spec(
        "payment.cancel.reject",
        c.RejectCancel,
        # A rejection moves no money: it needs none of the payment's invoices.
        _on_payment(reject_cancel, _none),
        ["payment.cancel.rejected"],
        loads=_payment,
        who=admin("reject payment cancellations", not_the="requester"),
    ),
    _spec(
        "payment.bounce",
        c.BouncePayment,
        _on_payment(bounce_payment),
        ["payment.bounced"],
        loads=_payment,
        who=admin("record a bounced giro/cheque"),
    ),
    _spec(
        "payment.note",
        c.NotePayment,
        _on_payment(note_payment, _none),
        ["payment.noted"],
        loads=_payment,
        who=admin("add notes to payments"),
    ),
)


# --- what is derived from them ------------------------------------------------------------------


def _accept(uow: Ledger, ctx: MessageContext, decision: Decision) -> Outcome:
    """Stage an accepted decision and turn its domain events into wire events."""
    uow.stage(decision)
    messages = []
    for event in decision.events:
        data = event_data(event, decision)
        messages.append(
            ctx.event(topics.PAYMENT_EVENTS, event.type, data, subject=subject_of(event.type, data))
        )
    return Accepted(tuple(messages))


def _event_types(decision: Decision) -> Iterable[str]:
    return (event.type for event in decision.events)


TABLE: CommandTable[Any] = CommandTable(SPECS, accept=_accept, event_types=_event_types)
HANDLERS: Mapping[str, Handler[Any]] = TABLE.handlers


def authorize(
    command_type: str,
    meta: Meta,
    admins: frozenset[str],
    *,
    payment: Payment | None = None,
    order_id: str | None = None,
) -> Rejected | None:
    """The rule ``command_type``'s spec names, applied (what ``TABLE`` checks first)."""
    return RULES[command_type].check(meta, admins, payment=payment, order_id=order_id)
