"""The feed API: sellers and admins read their own notifications over HTTP and server-sent events.

A bearer token names (tenant, user); every read and write is scoped to the feed of exactly that
recipient in that tenant. Anything outside it is "not found" (404, never 403, so ids of other
feeds cannot be probed); a missing, forged or expired token is 401. Texts are shown in the
reader's chosen locale (`PUT /v1/preferences`), else the one they were stored in; `?locale=`
overrides both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.notify_svc.api_metrics import Metrics, MetricsMiddleware
from services.notify_svc.api_models import (
    Health,
    NotificationDetail,
    NotificationPage,
    Preferences,
    Problem,
    ReadAllResult,
    UnreadCount,
    detail,
    summary,
)
from services.notify_svc.api_stream import LiveResponse, events
from services.notify_svc.feed_store import FeedStore, InvalidCursor, StoredNotification
from services.notify_svc.live import LiveFeeds, StreamRefused
from services.notify_svc.model import DEFAULT_LOCALE, Locale
from services.notify_svc.tokens import InvalidToken, Principal, TokenKeys, verify_token
from services.notify_svc.web.routes import add_page

Clock = Callable[[], datetime]


class PreferenceBook(Protocol):
    """Where readers' choices live (`services.notify_svc.preferences.PreferenceStore`)."""

    async def locale_of(self, tenantid: str, recipient: str) -> Locale | None: ...

    async def set_locale(self, tenantid: str, recipient: str, locale: Locale) -> None: ...


_UNAUTHORIZED = {"model": Problem, "description": "Missing, invalid or expired bearer token"}
_NOT_FOUND = {"model": Problem, "description": "No such notification in the caller's feed"}
_NOT_FOUND_DETAIL = "notification not found"
_STREAM_REFUSED: dict[int | str, dict[str, Any]] = {
    429: {"model": Problem, "description": "This reader already holds its share of open streams"},
    503: {"model": Problem, "description": "Live notifications are unavailable for a moment"},
}
# A refused stream is asked to wait longer than a request: streams end only with their token.
STREAM_RETRY_AFTER_S = 30
# How long a new stream waits for the live subscription (start-up, Redis restarting), and a
# readiness probe for Redis, before answering 503.
SUBSCRIBED_WAIT_S = 2.0
READY_TIMEOUT_S = 1.0


_BEARER = HTTPBearer(auto_error=False, description="Token from `lunas token`")


def _reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    """The principal of a valid bearer token (keys and clock are the app's), else 401."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bearer token required", challenge)
    state = request.app.state
    try:
        return verify_token(state.token_keys, credentials.credentials, state.clock())
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or expired token", challenge
        ) from exc


# Module level: with postponed annotations FastAPI resolves these names in the module namespace.
Reader = Annotated[Principal, Depends(_reader)]
LocaleParam = Annotated[
    Locale | None,
    Query(description="Render in this locale instead of the chosen (or stored) one"),
]


def create_app(
    store: FeedStore,
    keys: TokenKeys,
    clock: Clock,
    *,
    preferences: PreferenceBook,
    live: LiveFeeds,
    health: Redis,
    heartbeat_seconds: float = 15.0,
) -> FastAPI:
    """The feed API over `store` and `preferences`; tokens verified with `keys` against `clock`.

    `live` feeds the event streams (its subscription runs with the app's lifespan); `health` is a
    Redis client of its own for the readiness probe, so no traffic can take its connection.
    """
    metrics = Metrics(live)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with live.running():
            yield

    app = FastAPI(
        title="lunas feed API",
        version="1",
        description="Notifications of one reader (the user a bearer token names), newest first.",
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(RedisError)
    async def store_unavailable(_request: Request, _exc: RedisError) -> JSONResponse:
        # Redis away (restart, failover) is an outage of ours, not a bug: say so and when to retry.
        return JSONResponse(
            {"detail": "notifications are unavailable for a moment, retry shortly"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    app.state.token_keys = keys
    app.state.clock = clock
    auth_errors: dict[int | str, dict[str, Any]] = {401: _UNAUTHORIZED}
    item_errors: dict[int | str, dict[str, Any]] = {401: _UNAUTHORIZED, 404: _NOT_FOUND}

    async def shown(who: Principal, asked: Locale | None) -> Locale | None:
        """The locale to show texts in: asked for, else chosen, else None (as stored)."""
        return asked or await preferences.locale_of(who.tenant, who.user)

    async def owned(who: Principal, notification_id: str) -> StoredNotification:
        stored = await store.get(who.tenant, who.user, notification_id)
        if stored is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND_DETAIL)
        return stored

    @app.get("/v1/notifications", responses={**auth_errors, 400: {"model": Problem}})
    async def list_notifications(
        who: Reader,
        locale: LocaleParam = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        unread: Annotated[bool, Query(description="Only unread notifications")] = False,
    ) -> NotificationPage:
        try:
            page = await store.page(
                who.tenant, who.user, limit=limit, cursor=cursor, unread_only=unread
            )
        except InvalidCursor as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from exc
        show = await shown(who, locale)
        items = [summary(item, show) for item in page.items]
        return NotificationPage(items=items, next_cursor=page.next_cursor)

    @app.get("/v1/notifications/unread-count", responses=auth_errors)
    async def unread_count(who: Reader) -> UnreadCount:
        return UnreadCount(unread=await store.unread_count(who.tenant, who.user))

    @app.post("/v1/notifications/read-all", responses=auth_errors)
    async def read_all(who: Reader) -> ReadAllResult:
        return ReadAllResult(marked_read=await store.mark_all_read(who.tenant, who.user))

    @app.get("/v1/preferences", responses=auth_errors)
    async def get_preferences(who: Reader) -> Preferences:
        chosen = await preferences.locale_of(who.tenant, who.user)
        return Preferences(locale=chosen or DEFAULT_LOCALE)

    @app.put("/v1/preferences", responses=auth_errors)
    async def put_preferences(who: Reader, choice: Preferences) -> Preferences:
        """Choose the locale your notifications are written and shown in."""
        await preferences.set_locale(who.tenant, who.user, choice.locale)
        return choice

    def refused(exc: StreamRefused) -> JSONResponse:
        metrics.refused_streams.labels(exc.limit).inc()
        if exc.limit == "per_reader":
            text = f"too many open streams for this reader (at most {exc.cap}): close one first"
            code = status.HTTP_429_TOO_MANY_REQUESTS
        else:
            text = "this server holds as many streams as it can: retry later"
            code = status.HTTP_503_SERVICE_UNAVAILABLE
        return JSONResponse(
            {"detail": text}, status_code=code, headers={"Retry-After": str(STREAM_RETRY_AFTER_S)}
        )

    @app.get(
        "/v1/notifications/stream",
        response_class=StreamingResponse,  # for the document; the route returns LiveResponse
        responses={
            **auth_errors,
            **_STREAM_REFUSED,
            200: {
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
                "description": "`event: notification` with a NotificationDetail as `data`; "
                "`event: resync`: re-read the feed (the server lost Redis for a while); "
                "`event: dropped`: the server closed the stream (reconnect); "
                "`:` comment lines are keep-alives. Ends when the token expires.",
            },
        },
    )
    async def stream(who: Reader, locale: LocaleParam = None) -> Response:
        show = await shown(who, locale)
        if not await live.wait_subscribed(SUBSCRIBED_WAIT_S):
            raise RedisError("the live subscription is not established")
        try:
            opened = live.open(who.tenant, who.user)
        except StreamRefused as exc:
            return refused(exc)
        # Nothing awaits between `open` and the response, which closes `opened` however it ends.
        return LiveResponse(opened, events(opened, who, show, clock, heartbeat_seconds))

    @app.get("/v1/notifications/{notification_id}", responses=item_errors)
    async def get_notification(
        who: Reader, notification_id: str, locale: LocaleParam = None
    ) -> NotificationDetail:
        return detail(await owned(who, notification_id), await shown(who, locale))

    @app.post(
        "/v1/notifications/{notification_id}/read",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=item_errors,
    )
    async def mark_read(who: Reader, notification_id: str) -> Response:
        if not await store.mark_read(who.tenant, who.user, notification_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND_DETAIL)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def redis_answers() -> bool:
        try:
            return bool(await asyncio.wait_for(health.ping(), READY_TIMEOUT_S))
        except (RedisError, OSError, TimeoutError):
            return False  # a probe reports the outage, it does not fail with it

    async def readiness(response: Response) -> Health:
        if await redis_answers():
            return Health(status="ok")
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unavailable")

    ready_errors: dict[int | str, dict[str, Any]] = {503: {"model": Health}}
    app.get("/readyz", responses=ready_errors, summary="Redis answers (its own connection)")(
        readiness
    )
    # Kept for the clients and probes that check it today: the same answer as /readyz.
    app.get("/healthz", responses=ready_errors, summary="Same as /readyz")(readiness)

    @app.get("/livez")
    async def livez() -> Health:
        """The process's event loop answers; depends on nothing a client can use up."""
        return Health(status="ok")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    add_page(app)  # the seller's page at /app, on the endpoints above
    return app
