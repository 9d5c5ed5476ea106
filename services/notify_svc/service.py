"""What notify_svc is (``ServiceSpec``): the faust app's group and topics, read by ``lunas``
(status, serve, run), bench and chaos, so none of them keeps a list of its own."""

from __future__ import annotations

from schemas import topics
from services.common.runtime.service import ServiceSpec

SERVICE = ServiceSpec(
    name="notify",
    reads=(topics.PICKUP_EVENTS, topics.PICKUP_CANCEL_DECIDED, topics.PAYMENT_EVENTS),
    writes=(topics.NOTIFICATIONS,),
    settings=(
        "redis_url",
        "feed_cap",
        "feed_token_secret",
        "pickup_admins",
        "pickup_supervisors",
        "payment_admins",
    ),
    entrypoint="services.notify_svc.entrypoint:serve_notify",
)
