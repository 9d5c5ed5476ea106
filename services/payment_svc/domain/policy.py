"""Who may do what to payments and invoices (docs/ARCHITECTURE.md "Who may send it"); pure.

Each command's ``CommandSpec`` (``handlers.py``) names its ``Rule``:
- ``ANYONE``: any ``user:``, ``admin:`` or ``system:`` actor (the codec admits no other) —
  ``invoice.issue``, ``payment.record``, ``payment.allocate``.
- ``admin(verb)``: a payment admin (``LUNAS_PAYMENT_ADMINS``) — resolve, cancel, bounce, note.
- ``admin(verb, not_the="recorder")``: and never the actor who recorded the payment (four
  eyes: a collector cannot confirm their own collection) — ``payment.confirm``.
- ``admin(verb, not_the="requester")``: a payment admin other than the one who asked for the
  cancellation (four eyes at or above the tenant's ``ApprovalAmounts``) — the cancel decisions.
- ``admin(verb, pickup_for_order=True)``: or ``system:pickup`` naming the order —
  ``invoice.void``, ``payment.release``.
The runtime checks the rule before existence, so a refused sender learns nothing of the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from services.common.domain import Meta, Rejected, is_admin
from services.payment_svc.domain.model import Payment

PICKUP_SERVICE = "system:pickup"


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may send one command type; ``verb`` (None: anyone) names it in the refusal."""

    verb: str | None = None
    pickup_for_order: bool = False
    not_the: Literal["recorder", "requester"] | None = None

    def check(
        self,
        meta: Meta,
        admins: frozenset[str],
        *,
        payment: Payment | None = None,
        order_id: str | None = None,
    ) -> Rejected | None:
        """``forbidden`` naming the rule, or None when ``meta.actor`` may send the command."""
        if self.verb is None or is_admin(meta.actor, admins):
            return self._four_eyes(meta, payment)
        if not self.pickup_for_order:
            return Rejected(
                "forbidden", f"{meta.actor} may not {self.verb}; only a payment admin may"
            )
        if meta.actor != PICKUP_SERVICE:
            return Rejected(
                "forbidden",
                f"{meta.actor} may not {self.verb}; only a payment admin may, or "
                f"{PICKUP_SERVICE} for a cancelled order",
            )
        if order_id is None:
            return Rejected(
                "forbidden", f"{PICKUP_SERVICE} may {self.verb} only for an order (order_id)"
            )
        return None

    def _four_eyes(self, meta: Meta, payment: Payment | None) -> Rejected | None:
        if payment is None or self.not_the is None:
            return None
        if self.not_the == "recorder" and payment.recorded_actor == meta.actor:
            return Rejected(
                "forbidden",
                f"{meta.actor} recorded payment {payment.payment_no} and may not confirm it "
                "too; another payment admin must (four eyes)",
            )
        if self.not_the == "requester" and payment.cancel_requested_by == meta.actor:
            return Rejected(
                "forbidden",
                f"{meta.actor} asked to cancel payment {payment.payment_no} and may not decide "
                "on it too; another payment admin must (four eyes)",
            )
        return None


ANYONE = Rule()


def admin(
    verb: str,
    *,
    pickup_for_order: bool = False,
    not_the: Literal["recorder", "requester"] | None = None,
) -> Rule:
    return Rule(verb, pickup_for_order, not_the)


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
