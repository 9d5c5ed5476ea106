"""The decision deadline of a cancellation request (per tenant), as pure steps on an order.

At half the decision time the admins are reminded (once). At the deadline the request is either
escalated to the supervisors (once; they may then decide it) or, for a tenant that chose it,
decided automatically by `system:pickup-sla` with the reason "no decision within N h". A step
not taken in time (the service was down) is taken late; a deadline that has passed makes the
reminder moot, so only the deadline's step is taken then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.common.domain import Meta
from services.pickup_svc.domain.decision import Decision
from services.pickup_svc.domain.events import CancelEscalated, CancelReminder
from services.pickup_svc.domain.model import CancelDecision, CancelRequest, Order, OrderState
from services.pickup_svc.domain.rules import Rejected
from services.pickup_svc.domain.services import reject
from services.pickup_svc.domain.voiding import VoidBill, approve

SLA_ACTOR = "system:pickup-sla"


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """One tenant's rule: how long admins have, and what happens when they let it pass."""

    hours: Decimal
    auto_decision: CancelDecision | None = None
    supervisors: frozenset[str] = frozenset()

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=float(self.hours * 3600))

    @property
    def reason(self) -> str:
        hours = format(self.hours.normalize(), "f")
        return f"no decision within {hours} h"


def deadline_of(request: CancelRequest, policy: DeadlinePolicy) -> datetime:
    return request.requested_at + policy.window


def deadline_step(
    order: Order, now: datetime, policy: DeadlinePolicy, void: VoidBill
) -> Decision | Rejected | None:
    """The step due on ``order`` at ``now``, if any (None: nothing due, or already taken)."""
    request = order.open_request
    if order.state is not OrderState.CANCEL_PENDING or request is None:
        return None
    deadline = deadline_of(request, policy)
    if now >= deadline:
        if request.escalated_at is not None:
            return None
        if policy.auto_decision is not None:
            return _decide(order, request, now, policy, void)
        return _escalate(order, request, now, deadline, policy)
    if now >= request.requested_at + policy.window / 2 and request.reminded_at is None:
        reminded = replace(request, reminded_at=now)
        event = CancelReminder(**_undecided(order, request, deadline))
        return Decision(order.with_open_request(reminded), (event,))
    return None


def _undecided(order: Order, request: CancelRequest, deadline: datetime) -> dict[str, Any]:
    """What an undecided request's timer events carry (``CancelReminder``, ``CancelEscalated``)."""
    return {
        "request_id": request.request_id,
        "order_id": order.order_id,
        "requested_reason": request.reason,
        "requested_by": request.requested_by,
        "requested_at": request.requested_at,
        "deadline": deadline,
    }


def _escalate(
    order: Order, request: CancelRequest, now: datetime, deadline: datetime, policy: DeadlinePolicy
) -> Decision:
    escalated = replace(request, escalated_at=now)
    event = CancelEscalated(
        **_undecided(order, request, deadline), supervisors=tuple(sorted(policy.supervisors))
    )
    return Decision(order.with_open_request(escalated), (event,))


def _decide(
    order: Order, request: CancelRequest, now: datetime, policy: DeadlinePolicy, void: VoidBill
) -> Decision | Rejected:
    meta = Meta(tenant_id=order.tenant_id, actor=SLA_ACTOR, command_id=request.request_id, at=now)
    if policy.auto_decision == "approve":
        return approve(order, request, meta, policy.reason, void)
    rejected, event = reject(order, request, SLA_ACTOR, policy.reason, now)
    return Decision(rejected, (event,))


@dataclass(frozen=True, slots=True)
class DeadlinePolicies:
    """Every tenant's policy: the default, and the tenants that override it."""

    default_hours: Decimal
    hours_by_tenant: Mapping[str, Decimal] = field(default_factory=dict)
    auto_decisions: Mapping[str, CancelDecision] = field(default_factory=dict)
    supervisors: frozenset[str] = frozenset()

    def for_tenant(self, tenant_id: str) -> DeadlinePolicy:
        return DeadlinePolicy(
            hours=self.hours_by_tenant.get(tenant_id, self.default_hours),
            auto_decision=self.auto_decisions.get(tenant_id),
            supervisors=self.supervisors,
        )

    @property
    def earliest_reminder(self) -> timedelta:
        """The shortest time after a request at which any tenant's first step is due."""
        hours = min([self.default_hours, *self.hours_by_tenant.values()])
        return DeadlinePolicy(hours).window / 2
