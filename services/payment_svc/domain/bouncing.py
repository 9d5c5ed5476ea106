"""A bounced giro or cheque: the bank refused it on clearing (``payment.bounce``).

Decided: a bounce is its own terminal status, ``bounced``, not a ``cancelled`` with a reason. A
cancellation is the back office's decision; a bounce is the bank's, carries a bank charge, and
counts against the customer (``lunas payment show`` reports each customer's bounced Giros). It
reverses the payment's allocations like a cancellation, so the invoices are owed again; its
reason is kept as ``cancel_reason`` with code ``giro_bounced``. Only an Active giro/cheque (not
yet cleared) can bounce: a Completed one has cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.common.domain import Meta
from services.payment_svc.domain.cancelling import close_payment
from services.payment_svc.domain.commands import BouncePayment
from services.payment_svc.domain.events import PaymentBounced, figures
from services.payment_svc.domain.model import CENT, CLEARING_METHODS, Invoice, Payment
from services.payment_svc.domain.outcomes import Outcome, Rejected
from services.payment_svc.domain.rules import (
    balances,
    check_money,
    wrong_status,
)


def bounce_payment(
    current: Payment, invoices: Mapping[str, Invoice], cmd: BouncePayment, meta: Meta
) -> Outcome:
    if current.method not in CLEARING_METHODS:
        return Rejected(
            "invalid",
            f"payment {current.payment_no} is a {current.method} payment; only a giro or cheque "
            "can bounce",
        )
    if current.status != "active":
        return wrong_status(current, "active", "bounced")
    if cmd.bank_charge is not None and (bad := check_money(cmd.bank_charge, "bank charge")):
        return bad
    if cmd.bounced_date is not None and cmd.bounced_date < current.payment_date:
        return Rejected(
            "invalid",
            f"bounced date {cmd.bounced_date} is before the payment date {current.payment_date} "
            f"of payment {current.payment_no}",
        )
    charge = cmd.bank_charge.quantize(CENT) if cmd.bank_charge is not None else None
    bounced = replace(
        current,
        cancel_reason_code="giro_bounced",
        cancel_reason=cmd.reason,
        bank_charge=charge,
        bounced_date=cmd.bounced_date,
    )
    closing = close_payment(
        current,
        "bounced",
        invoices,
        meta,
        reason=cmd.reason,
        reason_code="giro_bounced",
        closed=bounced,
    )
    new = closing.payment
    event = PaymentBounced(
        **figures(new),
        previous_status=current.status,
        reason=cmd.reason,
        bank_charge=charge,
        bounced_date=cmd.bounced_date,
        released=closing.released,
        invoices=balances(closing.after.values()),
    )
    return closing.decision(event)
