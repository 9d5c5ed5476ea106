"""The notifications of the example scenarios, made by notify_svc's own handling code.

Every fact of a scenario goes through `services.notify_svc.handling` with in-memory ports, as
the running service would handle it (the example pickup admin `rina` decides cancellations and
retries voids, the supervisor `sari` hears of escalations), and the `notification.created`
messages it publishes follow the fact. So the committed example files are what notify_svc
renders, byte for byte, and change when its wording does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from schemas.envelope import Envelope

EXAMPLE_PICKUP_ADMINS = frozenset({"rina"})
EXAMPLE_PICKUP_SUPERVISORS = frozenset({"sari"})


def with_notifications(messages: Sequence[Envelope]) -> list[Envelope]:
    """`messages`, each fact followed by the notification messages notify_svc makes of it."""
    from services.notify_svc.handling import handle_source_event, notification_event
    from services.notify_svc.memory import memory_ports
    from services.notify_svc.model import Notification, SourceEvent
    from services.notify_svc.rules import Malformed, Routing

    ports = memory_ports(
        Routing(pickup_admins=EXAMPLE_PICKUP_ADMINS, pickup_supervisors=EXAMPLE_PICKUP_SUPERVISORS)
    )

    async def notify(envelope: Envelope) -> list[Notification]:
        made: list[Notification] = []

        async def publish(notification: Notification) -> None:
            made.append(notification)

        result = await handle_source_event(
            SourceEvent.from_envelope(envelope), ports=ports, publish=publish
        )
        if isinstance(result, Malformed):
            raise ValueError(f"example {envelope.type} {envelope.id}: {result.reason}")
        return made

    out: list[Envelope] = []
    for envelope in messages:
        out.append(envelope)
        made = asyncio.run(notify(envelope))
        out += [notification_event(n, cause=envelope) for n in made]
    return out
