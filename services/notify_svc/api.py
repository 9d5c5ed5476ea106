"""The feed API: sellers and admins read their own notifications over HTTP and server-sent events.

A bearer token names (tenant, user); every read and write is scoped to the feed of exactly that
recipient in that tenant. Anything outside it is "not found" (404, never 403, so ids of other
feeds cannot be probed); a missing, forged or expired token is 401.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.notify_svc.api_models import (
    Health,
    NotificationDetail,
    NotificationPage,
    Problem,
    ReadAllResult,
    UnreadCount,
    detail,
    summary,
)
from services.notify_svc.feed_store import FeedStore, InvalidCursor, StoredNotification
from services.notify_svc.model import Locale
from services.notify_svc.tokens import InvalidToken, Principal, check_secret, verify_token

Clock = Callable[[], datetime]

_UNAUTHORIZED = {"model": Problem, "description": "Missing, invalid or expired bearer token"}
_NOT_FOUND = {"model": Problem, "description": "No such notification in the caller's feed"}
_NOT_FOUND_DETAIL = "notification not found"


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lunas_feed_api_requests_total",
            "Feed API requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lunas_feed_api_request_seconds",
            "Feed API time to response headers",
            ["method", "route"],
            registry=self.registry,
        )
        self.streams = Gauge(
            "lunas_feed_api_open_streams", "Open server-sent event streams", registry=self.registry
        )


class _MetricsMiddleware:
    """Plain ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: _Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self.metrics.requests.labels(method, route, str(message["status"])).inc()
                self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, observed)


_BEARER = HTTPBearer(auto_error=False, description="Token from `lunas token`")


def _reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    """The principal of a valid bearer token (secret and clock are the app's), else 401."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bearer token required", challenge)
    state = request.app.state
    try:
        return verify_token(state.token_secret, credentials.credentials, state.clock())
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or expired token", challenge
        ) from exc


# Module level: with postponed annotations FastAPI resolves these names in the module namespace.
Reader = Annotated[Principal, Depends(_reader)]
LocaleParam = Annotated[
    Locale | None, Query(description="Render in this locale instead of the stored one")
]


def _sse(event: str | None, data: str | None = None, event_id: str | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {event}"] if event else []
    lines += [f"data: {data}"] if data is not None else []
    return "\n".join(lines) + "\n\n"


def create_app(
    store: FeedStore,
    secret: str | bytes,
    clock: Clock,
    *,
    heartbeat_seconds: float = 15.0,
) -> FastAPI:
    """The feed API over `store`; tokens verified with `secret` against `clock`."""
    check_secret(secret)
    metrics = _Metrics()
    app = FastAPI(
        title="lunas feed API",
        version="1",
        description="Notifications of one reader (the user a bearer token names), newest first.",
    )
    app.add_middleware(_MetricsMiddleware, metrics=metrics)

    @app.exception_handler(RedisError)
    async def store_unavailable(_request: Request, _exc: RedisError) -> JSONResponse:
        # Redis away (restart, failover) is an outage of ours, not a bug: say so and when to retry.
        return JSONResponse(
            {"detail": "notifications are unavailable for a moment, retry shortly"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    app.state.token_secret = secret
    app.state.clock = clock
    auth_errors: dict[int | str, dict[str, Any]] = {401: _UNAUTHORIZED}
    item_errors: dict[int | str, dict[str, Any]] = {401: _UNAUTHORIZED, 404: _NOT_FOUND}

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
        items = [summary(item, locale) for item in page.items]
        return NotificationPage(items=items, next_cursor=page.next_cursor)

    @app.get("/v1/notifications/unread-count", responses=auth_errors)
    async def unread_count(who: Reader) -> UnreadCount:
        return UnreadCount(unread=await store.unread_count(who.tenant, who.user))

    @app.post("/v1/notifications/read-all", responses=auth_errors)
    async def read_all(who: Reader) -> ReadAllResult:
        return ReadAllResult(marked_read=await store.mark_all_read(who.tenant, who.user))

    async def _live(who: Principal, locale: Locale | None) -> AsyncIterator[str]:
        metrics.streams.inc()
        try:
            async with store.subscribe(who.tenant, who.user) as live:
                # Sent once the subscription is confirmed: from here on nothing new is missed.
                yield "retry: 3000\n: connected\n\n"
                while (left := (who.expires_at - clock()).total_seconds()) > 0:
                    new = await live.next(timeout=min(heartbeat_seconds, left))
                    if new is None:
                        yield ": keep-alive\n\n"
                        continue
                    body = detail(StoredNotification(new, read=False), locale).model_dump_json()
                    yield _sse("notification", body, new.notification_id)
                yield _sse("token-expired", "{}")
        finally:
            metrics.streams.dec()

    @app.get(
        "/v1/notifications/stream",
        response_class=StreamingResponse,
        responses={
            **auth_errors,
            200: {
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
                "description": "`event: notification` with a NotificationDetail as `data`; "
                "`:` comment lines are keep-alives. Ends when the token expires.",
            },
        },
    )
    async def stream(who: Reader, locale: LocaleParam = None) -> StreamingResponse:
        return StreamingResponse(
            _live(who, locale),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/v1/notifications/{notification_id}", responses=item_errors)
    async def get_notification(
        who: Reader, notification_id: str, locale: LocaleParam = None
    ) -> NotificationDetail:
        return detail(await owned(who, notification_id), locale)

    @app.post(
        "/v1/notifications/{notification_id}/read",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=item_errors,
    )
    async def mark_read(who: Reader, notification_id: str) -> Response:
        if not await store.mark_read(who.tenant, who.user, notification_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND_DETAIL)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @app.get("/healthz", responses={503: {"model": Health}})
    async def healthz(response: Response) -> Health:
        try:
            up = await store.ping()
        except (RedisError, OSError):
            up = False  # a probe reports the outage, it does not fail with it
        if up:
            return Health(status="ok")
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unavailable")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
