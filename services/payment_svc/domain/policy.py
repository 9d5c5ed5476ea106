"""Who may do what to payments and invoices (DESIGN "Who may do what"); pure, checked first.

- ``invoice.issue``, ``payment.record``, ``payment.allocate``: any ``user:``, ``admin:`` or
  ``system:`` actor (the codec admits no other).
- ``payment.confirm``: a payment admin (``LUNAS_PAYMENT_ADMINS``), never the actor who recorded
  the payment (four eyes: a collector cannot confirm their own collection).
- ``payment.resolve``, ``payment.cancel``, ``payment.bounce``: a payment admin.
- ``payment.cancel.approve``, ``payment.cancel.reject``: a payment admin other than the one who
  asked for the cancellation (four eyes on cancellations at or above the tenant's approval
  amount, ``ApprovalAmounts``).
- ``invoice.void``, ``payment.release``: ``system:pickup`` naming the order, or a payment admin.
Authorisation comes before existence, so a refused sender learns nothing about the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.common.domain import Meta, Rejected, is_admin
from services.payment_svc.domain.model import Payment

PICKUP_SERVICE = "system:pickup"
CANCEL_DECISIONS = frozenset({"payment.cancel.approve", "payment.cancel.reject"})
ADMIN_ONLY = frozenset(
    {"payment.confirm", "payment.resolve", "payment.cancel", "payment.bounce", *CANCEL_DECISIONS}
)
PICKUP_OR_ADMIN = frozenset({"invoice.void", "payment.release"})
_VERBS = {
    "payment.confirm": "confirm payments",
    "payment.resolve": "resolve giro/cheque payments",
    "payment.cancel": "cancel payments",
    "payment.cancel.approve": "approve payment cancellations",
    "payment.cancel.reject": "reject payment cancellations",
    "payment.bounce": "record a bounced giro/cheque",
    "invoice.void": "void invoices",
    "payment.release": "release payment allocations",
}


def authorize(
    command_type: str,
    meta: Meta,
    admins: frozenset[str],
    *,
    payment: Payment | None = None,
    order_id: str | None = None,
) -> Rejected | None:
    """``forbidden`` naming the rule, or None when ``meta.actor`` may send ``command_type``."""
    admin = is_admin(meta.actor, admins)
    if command_type in ADMIN_ONLY and not admin:
        return Rejected(
            "forbidden",
            f"{meta.actor} may not {_VERBS[command_type]}; only a payment admin may",
        )
    if command_type in PICKUP_OR_ADMIN and not admin:
        if meta.actor != PICKUP_SERVICE:
            return Rejected(
                "forbidden",
                f"{meta.actor} may not {_VERBS[command_type]}; only a payment admin may, or "
                f"{PICKUP_SERVICE} for a cancelled order",
            )
        if order_id is None:
            return Rejected(
                "forbidden",
                f"{PICKUP_SERVICE} may {_VERBS[command_type]} only for an order (order_id)",
            )
    recorder = payment.recorded_actor if payment is not None else None
    if command_type == "payment.confirm" and recorder == meta.actor and payment is not None:
        return Rejected(
            "forbidden",
            f"{meta.actor} recorded payment {payment.payment_no} and may not confirm it too; "
            "another payment admin must (four eyes)",
        )
    requester = payment.cancel_requested_by if payment is not None else None
    if command_type in CANCEL_DECISIONS and requester == meta.actor and payment is not None:
        return Rejected(
            "forbidden",
            f"{meta.actor} asked to cancel payment {payment.payment_no} and may not decide on it "
            "too; another payment admin must (four eyes)",
        )
    return None


@dataclass(frozen=True, slots=True)
class ApprovalAmounts:
    """From which amount cancelling a Completed payment needs a second admin, per tenant.

    ``by_tenant`` overrides ``default``; a tenant mapped to None has no four eyes even when a
    default is set. No default and no entry: no four eyes.
    """

    default: Decimal | None = None
    by_tenant: Mapping[str, Decimal | None] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> Decimal | None:
        if tenant_id in self.by_tenant:
            return self.by_tenant[tenant_id]
        return self.default
