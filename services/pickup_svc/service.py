"""What pickup_svc is (``ServiceSpec``): read by the runtime, ``lunas`` (status, serve, run),
bench and chaos, so none of them keeps a list of its own."""

from __future__ import annotations

from schemas import topics
from schemas.registry import REJECTIONS_TOPIC
from services.common.runtime.service import ServiceSpec
from services.pickup_svc.adapters.postgres import SCHEMA
from services.pickup_svc.handlers import TABLE

SERVICE = ServiceSpec(
    name="pickup",
    reads=TABLE.topics,
    writes=(topics.PICKUP_EVENTS, topics.PICKUP_CANCEL_DECIDED, topics.PAYMENT_COMMANDS),
    schema=SCHEMA,
    rejections_topic=REJECTIONS_TOPIC[topics.PICKUP_COMMANDS],
    settings=(
        "pickup_admins",
        "pickup_supervisors",
        "pickup_decision_hours",
        "pickup_decision_hours_by_tenant",
        "pickup_auto_decision_tenants",
        "pickup_deadline_check_seconds",
    ),
    entrypoint="services.pickup_svc.entrypoint:serve_pickup",
)
