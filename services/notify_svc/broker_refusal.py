"""notify_svc stops on a broker refusal that retrying cannot fix (services/common/kafka_refusal).

faust reads records straight from aiokafka's fetcher, so an error aiokafka keeps for the user
(an invalid session timeout at join, a topic or group the principal may not read) is never
raised to faust: the app would wait for an assignment for ever. `pending_refusal` looks at what
the group coordinator holds; `start_watching` stops a start that meets one.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import faust

from services.common.kafka_refusal import BrokerRefusal, refusal_of_exception

WATCH_INTERVAL_S = 0.5


def pending_refusal(app: faust.App) -> BrokerRefusal | None:
    """The refusal aiokafka's group coordinator holds for the app's consumer, if any."""
    consumer: Any = getattr(app, "_consumer", None)  # only a consumer already made
    thread = getattr(consumer, "_thread", None)
    coordinator = getattr(getattr(thread, "_consumer", None), "_coordinator", None)
    held = getattr(coordinator, "_pending_exception", None)
    return refusal_of_exception(held) if isinstance(held, BaseException) else None


async def start_watching(app: faust.App) -> None:
    """`app.start()`, raising the broker refusal its consumer meets while starting."""
    task = asyncio.ensure_future(app.start())
    while True:
        done, _ = await asyncio.wait({task}, timeout=WATCH_INTERVAL_S)
        if done:
            task.result()
            return
        refusal = pending_refusal(app)
        if refusal is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise refusal
