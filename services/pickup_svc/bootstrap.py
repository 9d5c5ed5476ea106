"""The composition root of pickup_svc: one `ServiceSpec` built from `Settings`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from schemas import topics
from schemas.registry import REJECTIONS_TOPIC
from services.common.runtime import ServiceSpec
from services.common.runtime.service import utc_now
from services.common.settings import Settings
from services.pickup_svc.adapters.postgres import SCHEMA
from services.pickup_svc.adapters.unit_of_work import PickupDependencies, PickupUnitOfWork
from services.pickup_svc.courier import CourierGateway, LocalCourierGateway
from services.pickup_svc.handlers import HANDLERS

NAME = "pickup"


def build_spec(
    settings: Settings,
    *,
    courier: CourierGateway | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ServiceSpec[PickupUnitOfWork]:
    """pickup_svc as the runtime runs it; `courier` and `clock` are replaceable for tests."""
    deps = PickupDependencies(
        courier=courier if courier is not None else LocalCourierGateway(),
        admins=settings.pickup_admin_ids,
    )
    return ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        topics=[topics.PICKUP_COMMANDS, topics.PICKUP_CANCEL_REQUESTED],
        rejections_topic=REJECTIONS_TOPIC[topics.PICKUP_COMMANDS],
        handlers=HANDLERS,
        unit_of_work=partial(PickupUnitOfWork, deps=deps),
        clock=clock,
    )
