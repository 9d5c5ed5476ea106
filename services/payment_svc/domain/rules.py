"""Guards and allocation mechanics shared by the payment command functions in ``services``.

Guards return a ``Rejected`` (or None when the command may proceed); mechanics return new values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Protocol, TypeVar

from services.common.domain import Meta
from services.payment_svc.domain.commands import AllocationLine
from services.payment_svc.domain.events import InvoiceBalance
from services.payment_svc.domain.model import (
    CENT,
    SETTLING_STATUSES,
    ZERO,
    Allocation,
    AllocationChange,
    AllocationChangeKind,
    Entity,
    Invoice,
    Payment,
    PaymentStatus,
    StatusChange,
)
from services.payment_svc.domain.outcomes import NO_CHANGE, Outcome, Rejected

# NUMERIC(18,2): 16 integer digits. Checked before quantize, which would overflow the context.
MONEY_LIMIT = Decimal(10) ** 16


class IncompleteLoad(LookupError):
    """The caller did not pass an aggregate a command needs: an adapter bug, not a refusal."""


class _Owned(Protocol):
    @property
    def tenant_id(self) -> str: ...


OwnedT = TypeVar("OwnedT", bound=_Owned)


def visible(aggregate: OwnedT | None, meta: Meta) -> OwnedT | None:
    """The aggregate if it belongs to the command's tenant, else None.

    Another tenant's payment or invoice is reported exactly as a missing one (``not_found``), so
    a sender can never learn that a number exists in someone else's books.
    """
    if aggregate is None or aggregate.tenant_id != meta.tenant_id:
        return None
    return aggregate


def label(status: str) -> str:
    """Status as the back office shows it: ``partially_paid`` → ``Partially paid``."""
    return status.replace("_", " ").capitalize()


def check_money(value: Decimal, what: str) -> Rejected | None:
    if not value.is_finite() or value <= ZERO:
        return Rejected("invalid", f"{what} must be a positive amount")
    if value >= MONEY_LIMIT:
        return Rejected("invalid", f"{what} {value} is too large")
    if value != value.quantize(CENT):
        return Rejected("invalid", f"{what} {value} has more than 2 decimals")
    return None


def check_lines(
    lines: Sequence[AllocationLine],
    invoices: Mapping[str, Invoice],
    meta: Meta,
    *,
    payment_no: str,
    customer_id: str,
    currency: str,
    credit: Decimal,
) -> Rejected | None:
    """May ``lines`` of payment ``payment_no`` go to these invoices with ``credit`` unallocated?"""
    seen: set[str] = set()
    for line in lines:
        if line.invoice_no in seen:
            return Rejected("invalid", f"invoice {line.invoice_no} appears twice in allocations")
        seen.add(line.invoice_no)
        bad = check_money(line.amount, f"allocation to invoice {line.invoice_no}")
        if bad is not None:
            return bad
        bad = _check_target(
            customer_id, currency, line, visible(invoices.get(line.invoice_no), meta)
        )
        if bad is not None:
            return bad
    total = sum((line.amount for line in lines), ZERO)
    if total > credit:
        return Rejected(
            "over_allocation",
            f"allocations total {total:,.2f} but payment {payment_no} has only "
            f"{credit:,.2f} unallocated",
        )
    return None


def _check_target(
    customer_id: str, currency: str, line: AllocationLine, invoice: Invoice | None
) -> Rejected | None:
    if invoice is None:
        return Rejected("not_found", f"invoice {line.invoice_no} not found")
    if invoice.customer_id != customer_id:
        return Rejected(
            "invalid",
            f"invoice {invoice.invoice_no} belongs to customer {invoice.customer_id}, "
            f"not {customer_id}",
        )
    if invoice.currency != currency:
        return Rejected(
            "invalid",
            f"invoice {invoice.invoice_no} is in {invoice.currency}; the payment is in {currency}",
        )
    if invoice.voided:
        return Rejected("invalid_state", f"invoice {invoice.invoice_no} is Void; it cannot be paid")
    if line.amount > invoice.outstanding:
        return Rejected(
            "over_allocation",
            f"allocating {line.amount:,.2f} to invoice {invoice.invoice_no} exceeds its "
            f"outstanding {invoice.outstanding:,.2f}",
        )
    return None


def require_invoices(
    owner: str, invoice_nos: Iterable[str], invoices: Mapping[str, Invoice], meta: Meta
) -> dict[str, Invoice]:
    """The invoices a command will touch; raises ``IncompleteLoad`` if the caller missed one."""
    found: dict[str, Invoice] = {}
    for invoice_no in sorted(set(invoice_nos)):
        invoice = visible(invoices.get(invoice_no), meta)
        if invoice is None:
            raise IncompleteLoad(
                f"{owner} needs invoice {invoice_no} of tenant {meta.tenant_id} loaded"
            )
        found[invoice_no] = invoice
    return found


def add_allocations(
    payment: Payment,
    invoices: dict[str, Invoice],
    lines: Sequence[AllocationLine],
    meta: Meta,
) -> tuple[Payment, list[AllocationChange]]:
    """Apply checked ``lines``; updates ``invoices`` in place, returns the new payment."""
    by_invoice = {a.invoice_no: a for a in payment.allocations}
    settles = payment.status in SETTLING_STATUSES
    changes: list[AllocationChange] = []
    for line in lines:
        amount = line.amount.quantize(CENT)
        held = by_invoice.get(line.invoice_no)
        # One live allocation per (payment, invoice): a second allocation tops it up.
        total = amount + (held.amount if held else ZERO)
        by_invoice[line.invoice_no] = Allocation(payment.payment_no, line.invoice_no, total)
        invoices[line.invoice_no] = _shift(invoices[line.invoice_no], amount, settles)
        changes.append(_change(payment, line.invoice_no, meta, kind="allocated", amount=amount))
    new = replace(payment, allocations=tuple(by_invoice[k] for k in sorted(by_invoice)))
    return new, changes


def release_allocations(
    payment: Payment,
    invoice_nos: Iterable[str],
    invoices: dict[str, Invoice],
    meta: Meta,
    reason: str | None,
) -> tuple[Payment, list[AllocationLine], list[AllocationChange]]:
    """Release the payment's allocations to ``invoice_nos`` (those it has); updates ``invoices``."""
    targets = set(invoice_nos)
    settles = payment.status in SETTLING_STATUSES
    kept: list[Allocation] = []
    released: list[AllocationLine] = []
    changes: list[AllocationChange] = []
    for alloc in payment.allocations:
        if alloc.invoice_no not in targets:
            kept.append(alloc)
            continue
        invoices[alloc.invoice_no] = _shift(invoices[alloc.invoice_no], -alloc.amount, settles)
        released.append(AllocationLine(alloc.invoice_no, alloc.amount))
        changes.append(
            _change(
                payment, alloc.invoice_no, meta, kind="released", amount=alloc.amount, reason=reason
            )
        )
    return replace(payment, allocations=tuple(kept)), released, changes


def move_payment_status(
    payment: Payment, to: PaymentStatus, invoices: dict[str, Invoice]
) -> Payment:
    """Change status; when a payment becomes Completed its allocations now settle the invoices."""
    was_settling = payment.status in SETTLING_STATUSES
    now_settling = to in SETTLING_STATUSES
    if was_settling != now_settling:
        for alloc in payment.allocations:
            invoice = invoices[alloc.invoice_no]
            delta = alloc.amount if now_settling else -alloc.amount
            invoices[alloc.invoice_no] = replace(invoice, settled=invoice.settled + delta)
    return replace(payment, status=to)


def _shift(invoice: Invoice, delta: Decimal, settles: bool) -> Invoice:
    settled = invoice.settled + delta if settles else invoice.settled
    return replace(invoice, allocated=invoice.allocated + delta, settled=settled)


def _change(
    payment: Payment,
    invoice_no: str,
    meta: Meta,
    *,
    kind: AllocationChangeKind,
    amount: Decimal,
    reason: str | None = None,
) -> AllocationChange:
    return AllocationChange(
        tenant_id=payment.tenant_id,
        payment_no=payment.payment_no,
        invoice_no=invoice_no,
        kind=kind,
        amount=amount,
        at=meta.at,
        actor=meta.actor,
        command_id=meta.command_id,
        reason=reason,
    )


def status_change(
    entity: Invoice | Payment,
    from_status: str | None,
    to_status: str,
    meta: Meta,
    *,
    reason: str | None = None,
    reason_code: str | None = None,
) -> StatusChange:
    if isinstance(entity, Invoice):
        kind: Entity = "invoice"
        entity_id = entity.invoice_no
    else:
        kind, entity_id = "payment", entity.payment_no
    return StatusChange(
        tenant_id=entity.tenant_id,
        entity=kind,
        entity_id=entity_id,
        from_status=from_status,
        to_status=to_status,
        at=meta.at,
        actor=meta.actor,
        command_id=meta.command_id,
        reason=reason,
        reason_code=reason_code,
    )


def invoice_history(
    before: Mapping[str, Invoice],
    after: Mapping[str, Invoice],
    meta: Meta,
    reason: str | None = None,
) -> list[StatusChange]:
    """A history entry for every invoice whose (derived) status this command changed."""
    entries: list[StatusChange] = []
    for invoice_no in sorted(after):
        old, new = before.get(invoice_no), after[invoice_no]
        old_status = old.status if old is not None else None
        if old_status != new.status:
            entries.append(status_change(new, old_status, new.status, meta, reason=reason))
    return entries


def balances(invoices: Iterable[Invoice]) -> tuple[InvoiceBalance, ...]:
    return tuple(
        InvoiceBalance(i.invoice_no, i.outstanding, i.status)
        for i in sorted(invoices, key=lambda i: i.invoice_no)
    )


def blank(**fields: str) -> Rejected | None:
    for name, value in fields.items():
        if not value.strip():
            return Rejected("invalid", f"{name} must not be empty")
    return None


def lines_of(payment: Payment) -> tuple[AllocationLine, ...]:
    return tuple(AllocationLine(a.invoice_no, a.amount) for a in payment.allocations)


def already_exists(kind: str, number: str, created_by: str, meta: Meta) -> Outcome:
    """A second create of the same number: harmless if it is the same command, else conflict."""
    # Exact duplicates are caught by the runtime's inbox; one reaching us is still harmless.
    if created_by == meta.command_id:
        return NO_CHANGE
    verb = "issued" if kind == "invoice" else "recorded"
    return Rejected("conflict", f"{kind} {number} was already {verb} by another command")


def payment_not_found(payment_no: str) -> Rejected:
    return Rejected("not_found", f"payment {payment_no} not found")


def wrong_status(payment: Payment, required: PaymentStatus, verb: str) -> Rejected:
    return Rejected(
        "invalid_state",
        f"payment {payment.payment_no} is {label(payment.status)}; only {label(required)} "
        f"payments can be {verb}",
    )
