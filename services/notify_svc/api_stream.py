"""The feed API's server-sent events: what one open stream writes, and the response that frees
its place (`LiveStream.close`) however the connection ends.

Events: `notification` (a NotificationDetail, `id` = notification id), `resync` (the server lost
and re-established its Redis subscription: re-read `GET /v1/notifications`, nothing after this
event is missed), `dropped` (the server closed the stream, e.g. the client fell too far behind;
reconnect after re-reading), `token-expired` (the stream ends with the token). `:` lines are
keep-alives.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from services.notify_svc.api_models import detail
from services.notify_svc.feed_store import StoredNotification
from services.notify_svc.live import Dropped, LiveStream, Resync
from services.notify_svc.model import Locale
from services.notify_svc.tokens import Principal

RECONNECT_MS = 3000


def sse(event: str | None, data: str | None = None, event_id: str | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {event}"] if event else []
    lines += [f"data: {data}"] if data is not None else []
    return "\n".join(lines) + "\n\n"


async def events(
    stream: LiveStream,
    who: Principal,
    locale: Locale | None,
    clock: Callable[[], datetime],
    heartbeat_seconds: float,
) -> AsyncIterator[str]:
    """The text of one stream until its token expires or the server drops it."""
    # The stream was registered before this runs: from here on nothing new is missed.
    yield f"retry: {RECONNECT_MS}\n: connected\n\n"
    while (left := (who.expires_at - clock()).total_seconds()) > 0:
        ready = await stream.next_ready(timeout=min(heartbeat_seconds, left))
        if not ready:
            yield ": keep-alive\n\n"
            continue
        # One write for all that is ready, not one per notification.
        text: list[str] = []
        for item in ready:
            if isinstance(item, Resync):
                text.append(sse("resync", "{}"))
            elif isinstance(item, Dropped):
                yield "".join([*text, sse("dropped", json.dumps({"reason": item.reason}))])
                return
            else:
                body = detail(StoredNotification(item, read=False), locale).model_dump_json()
                text.append(sse("notification", body, item.notification_id))
        yield "".join(text)
    yield sse("token-expired", "{}")


class LiveResponse(StreamingResponse):
    """An event stream that gives its place back when the response ends, also when the client
    went away before the first byte (the generator's own `finally` would then never run)."""

    def __init__(self, stream: LiveStream, content: AsyncIterator[str]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._stream.close()
