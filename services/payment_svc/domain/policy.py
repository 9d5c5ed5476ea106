"""Who may do what to payments and invoices (DESIGN "Who may do what"); pure, checked first.

- ``invoice.issue``, ``payment.record``, ``payment.allocate``: any ``user:``, ``admin:`` or
  ``system:`` actor (the codec admits no other).
- ``payment.confirm``: a payment admin (``LUNAS_PAYMENT_ADMINS``), never the actor who recorded
  the payment (four eyes: a collector cannot confirm their own collection).
- ``payment.resolve``, ``payment.cancel``: a payment admin.
- ``invoice.void``, ``payment.release``: ``system:pickup`` naming the order, or a payment admin.
Authorisation comes before existence, so a refused sender learns nothing about the ledger.
"""

from __future__ import annotations

from services.common.domain import Meta, Rejected, is_admin
from services.payment_svc.domain.model import Payment

PICKUP_SERVICE = "system:pickup"
ADMIN_ONLY = frozenset({"payment.confirm", "payment.resolve", "payment.cancel"})
PICKUP_OR_ADMIN = frozenset({"invoice.void", "payment.release"})
_VERBS = {
    "payment.confirm": "confirm payments",
    "payment.resolve": "resolve giro/cheque payments",
    "payment.cancel": "cancel payments",
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
    return None
