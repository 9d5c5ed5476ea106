"""Server-sent events over a real HTTP server: a connected reader gets new notifications live."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import uvicorn
from redis.asyncio import Redis

from services.notify_svc.tokens import issue_token
from tests.integration.notify.apps import feed_app
from tests.integration.notify.test_api import KEYS, NOW, SELLER, Clock, decided, seed

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(redis_url: str) -> Iterator[tuple[str, Clock]]:
    """The feed API served by uvicorn in a thread (its own event loop, like production)."""
    clock = Clock(NOW)
    redis = Redis.from_url(redis_url, decode_responses=True)
    app = feed_app(redis, KEYS, clock, heartbeat_seconds=0.2)
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        threading.Event().wait(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", clock
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse an SSE line stream into events (comments become {"comment": ...})."""
    event: dict[str, str] = {}
    for line in lines:
        if line == "":
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


def _auth(tenant: str, user: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(KEYS, tenant, user, timedelta(hours=1), NOW)}


def test_a_connected_seller_receives_only_their_own_new_notification(
    server: tuple[str, Clock], redis_url: str, tenant: str
) -> None:
    base, _ = server
    (mine,) = decided(tenant, 1)
    (someone_elses,) = decided(tenant, 2, seller="user:seller-78")
    (other_tenant,) = decided(f"{tenant}-b", 3)
    with (
        httpx.Client(base_url=base, timeout=10) as client,
        client.stream("GET", "/v1/notifications/stream", headers=_auth(tenant, SELLER)) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = _events(resp.iter_lines())
        assert next(events) == {"comment": "connected"}
        seed(redis_url, [someone_elses, other_tenant, mine])
        received = next(e for e in events if "data" in e)
    assert received["event"] == "notification" and received["id"] == mine.notification_id
    payload = json.loads(received["data"])
    assert payload["notification_id"] == mine.notification_id
    assert payload["title"] == "Pembatalan pickup ditolak" and "ORD-1" in payload["body"]


def test_the_stream_ends_when_the_token_expires(server: tuple[str, Clock], tenant: str) -> None:
    base, clock = server
    with (
        httpx.Client(base_url=base, timeout=10) as client,
        client.stream("GET", "/v1/notifications/stream", headers=_auth(tenant, SELLER)) as resp,
    ):
        events = _events(resp.iter_lines())
        assert next(events) == {"comment": "connected"}
        clock.now = NOW + timedelta(hours=2)
        remaining = list(events)
    assert remaining[-1]["event"] == "token-expired"
