"""The composition root of pickup_svc: its `ServiceSpec` wired from `Settings`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from services.common.runtime import ServiceWiring
from services.common.runtime.service import utc_now
from services.common.settings import Settings
from services.pickup_svc.adapters.deadline_timer import deadline_timer
from services.pickup_svc.adapters.unit_of_work import PickupDependencies, PickupUnitOfWork
from services.pickup_svc.courier import CourierGateway, LocalCourierGateway
from services.pickup_svc.domain.deadline import DeadlinePolicies
from services.pickup_svc.domain.model import CancelDecision
from services.pickup_svc.handlers import TABLE
from services.pickup_svc.service import SERVICE


def build_spec(
    settings: Settings,
    *,
    courier: CourierGateway | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ServiceWiring[PickupUnitOfWork]:
    """pickup_svc as the runtime runs it; `courier` and `clock` are replaceable for tests."""
    deps = PickupDependencies(
        courier=courier if courier is not None else LocalCourierGateway(),
        # Supervisors, who get escalated requests, may decide them (and any other).
        admins=settings.pickup_admin_ids | settings.pickup_supervisor_ids,
    )
    timer = deadline_timer(
        deps,
        deadline_policies(settings),
        timedelta(seconds=settings.pickup_deadline_check_seconds),
    )
    return ServiceWiring(
        spec=SERVICE,
        handlers=TABLE.handlers,
        unit_of_work=partial(PickupUnitOfWork, deps=deps, names=TABLE.names, command=TABLE.command),
        clock=clock,
        timers=[timer],
    )


def deadline_policies(settings: Settings) -> DeadlinePolicies:
    auto: dict[str, CancelDecision] = {
        tenant: "approve" if decision == "approve" else "reject"
        for tenant, decision in settings.pickup_auto_decisions().items()
    }
    return DeadlinePolicies(
        default_hours=settings.pickup_decision_hours,
        hours_by_tenant=settings.pickup_decision_hours_for(),
        auto_decisions=auto,
        supervisors=settings.pickup_supervisor_ids,
    )
