"""What payment_svc is (``ServiceSpec``): read by the runtime, ``lunas`` (status, serve, run),
bench and chaos, so none of them keeps a list of its own."""

from __future__ import annotations

from schemas import topics
from schemas.registry import REJECTIONS_TOPIC
from services.common.runtime.service import ServiceSpec
from services.payment_svc.adapters.rows import SCHEMA
from services.payment_svc.handlers import TABLE

SERVICE = ServiceSpec(
    name="payment",
    reads=TABLE.topics,
    writes=(topics.PAYMENT_EVENTS,),
    schema=SCHEMA,
    rejections_topic=REJECTIONS_TOPIC[topics.PAYMENT_COMMANDS],
    settings=(
        "payment_admins",
        "payment_cancel_approval_amount",
        "payment_cancel_approval_amount_by_tenant",
        "payment_giro_reminder_period_seconds",
        "business_utc_offset_hours",
    ),
    entrypoint="services.payment_svc.entrypoint:serve_payment",
)
