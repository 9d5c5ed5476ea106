"""The composition root of payment_svc: its ``ServiceSpec`` wired from ``Settings``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from services.common.runtime import ServiceWiring
from services.common.runtime.service import utc_now
from services.common.settings import Settings
from services.payment_svc.adapters.reminders import giro_reminder_timer
from services.payment_svc.adapters.unit_of_work import PaymentDependencies, PaymentUnitOfWork
from services.payment_svc.domain.policy import ApprovalAmounts
from services.payment_svc.handlers import TABLE
from services.payment_svc.service import SERVICE


def build_spec(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
) -> ServiceWiring[PaymentUnitOfWork]:
    """payment_svc as the runtime runs it; ``clock`` is replaceable for tests."""
    deps = PaymentDependencies(
        admins=settings.payment_admin_ids,
        approval_amounts=ApprovalAmounts(
            default=settings.payment_cancel_approval_amount,
            by_tenant=settings.payment_cancel_approval_by_tenant,
        ),
    )
    return ServiceWiring(
        spec=SERVICE,
        handlers=TABLE.handlers,
        unit_of_work=partial(PaymentUnitOfWork, deps=deps, names=TABLE.names),
        clock=clock,
        timers=[
            giro_reminder_timer(
                timedelta(seconds=settings.payment_giro_reminder_period_seconds),
                settings.business_utc_offset_hours,
            )
        ],
    )
