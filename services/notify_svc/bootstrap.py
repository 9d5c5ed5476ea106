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

from redis.asyncio import Redis

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
    """The feed API's ASGI app and the Redis client it reads through."""

    app: FastAPI
    redis: Redis

    async def aclose(self) -> None:
        await self.redis.aclose()


def build_feed_api(settings: Settings) -> FeedApi:
    from services.notify_svc import api

    keys = token_keys(settings)
    store, client = feed_store(settings)
    app = api.create_app(store, keys, utc_now, preferences=PreferenceStore(client))
    return FeedApi(app, client)
