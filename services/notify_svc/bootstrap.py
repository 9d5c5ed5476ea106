"""Composition root of notify_svc: Redis client, stores, token keys, faust app and feed API.

Everything is built when called, inside the running event loop, never at import time. The faust
app and the FastAPI app are imported where they are built, so tools that only need the feed store
(`lunas feed rebuild`) start without loading either. `token_keys` is the one check every entry
point makes first: without a feed token secret of at least 32 bytes nothing starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.common.settings import Settings
from services.notify_svc.feed_store import FeedStore
from services.notify_svc.handling import Ports
from services.notify_svc.join_store import RedisJoinStore
from services.notify_svc.preferences import PreferenceStore
from services.notify_svc.rules import Routing
from services.notify_svc.tokens import TokenKeys, parse_retired

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services.notify_svc.app import NotifyApp

# Bounded waits: a Redis that stopped answering must surface as an error to retry, not a hang.
REDIS_SOCKET_TIMEOUT_S = 5.0
# The feed API's request pool: a request waits this long for a free connection, then gets a 503.
REQUEST_POOL_WAIT_S = 2.0
# Readiness: its own two connections and a short timeout.
PROBE_TIMEOUT_S = 1.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def token_keys(settings: Settings) -> TokenKeys:
    """The feed token keys of `settings`; `TokenConfigError` (with what to do) when unusable."""
    secret = settings.feed_token_secret
    retired = settings.feed_token_retired_secrets
    return TokenKeys.of(
        None if secret is None else secret.get_secret_value(),
        parse_retired(None if retired is None else retired.get_secret_value()),
    )


def redis_client(settings: Settings) -> Redis:
    return Redis.from_url(
        settings.redis_dsn(),
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )


def feed_store(settings: Settings) -> tuple[FeedStore, Redis]:
    """The feed store on a new Redis client; the caller closes the client."""
    client = redis_client(settings)
    return FeedStore(client, cap=settings.feed_cap), client


def notify_ports(settings: Settings, client: Redis) -> Ports:
    """Feed, join state and preferences on `client`; routing from the admin and supervisor
    sets."""
    return Ports(
        feed=FeedStore(client, cap=settings.feed_cap),
        joins=RedisJoinStore(client),
        locales=PreferenceStore(client),
        routing=Routing(
            pickup_admins=settings.pickup_admin_ids,
            pickup_supervisors=settings.pickup_supervisor_ids,
            payment_admins=settings.payment_admin_ids,
        ),
    )


@dataclass
class NotifyService:
    """The running parts of one `lunas serve notify` process."""

    app: NotifyApp
    redis: Redis

    async def aclose(self) -> None:
        await self.redis.aclose()


def build_notify(settings: Settings) -> NotifyService:
    from services.notify_svc.app import create_app

    token_keys(settings)  # the whole stack shares one configuration: refuse it incomplete
    client = redis_client(settings)
    return NotifyService(create_app(settings, notify_ports(settings, client)), client)


@dataclass
class FeedApi:
    """The feed API's ASGI app and its Redis clients: request traffic (a bounded pool), the one
    live subscription, and the readiness probe, each on connections of its own."""

    app: FastAPI
    requests: Redis
    live: Redis
    probe: Redis

    async def aclose(self) -> None:
        for client in (self.requests, self.live, self.probe):
            await client.aclose()


def feed_api_clients(settings: Settings) -> tuple[Redis, Redis, Redis]:
    """(requests, live, probe): no stream or burst of requests can take the probe's connection,
    and the subscription is one connection that nothing else uses."""
    dsn = settings.redis_dsn()
    requests = Redis.from_pool(
        BlockingConnectionPool.from_url(
            dsn,
            max_connections=settings.feed_redis_pool_size,
            timeout=REQUEST_POOL_WAIT_S,
            socket_timeout=REDIS_SOCKET_TIMEOUT_S,
            socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
            health_check_interval=30,
        )
    )
    # No retries inside redis-py: a lost subscription surfaces at once to LiveFeeds, which
    # re-subscribes with its own backoff and tells the open streams to resync.
    live = Redis.from_url(
        dsn,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 0),
    )
    probe = Redis.from_pool(
        BlockingConnectionPool.from_url(
            dsn,
            max_connections=2,
            timeout=PROBE_TIMEOUT_S,
            socket_timeout=PROBE_TIMEOUT_S,
            socket_connect_timeout=PROBE_TIMEOUT_S,
        )
    )
    return requests, live, probe


def build_feed_api(settings: Settings) -> FeedApi:
    from services.notify_svc import api
    from services.notify_svc.live import LiveFeeds

    keys = token_keys(settings)
    requests, live_client, probe = feed_api_clients(settings)
    live = LiveFeeds(
        live_client,
        per_reader=settings.feed_streams_per_token,
        max_streams=settings.feed_streams_max,
    )
    app = api.create_app(
        FeedStore(requests, cap=settings.feed_cap),
        keys,
        utc_now,
        preferences=PreferenceStore(requests),
        live=live,
        health=probe,
    )
    return FeedApi(app, requests, live_client, probe)
