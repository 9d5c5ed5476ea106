"""Composition root of notify_svc: Redis client, feed store, faust app and feed API from Settings.

Everything is built when called, inside the running event loop, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI
from redis.asyncio import Redis

from services.common.settings import Settings
from services.notify_svc import api
from services.notify_svc.app import NotifyApp, create_app
from services.notify_svc.feed_store import FeedStore

# Bounded waits: a Redis that stopped answering must surface as an error to retry, not a hang.
REDIS_SOCKET_TIMEOUT_S = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


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


@dataclass
class NotifyService:
    """The running parts of one `lunas serve notify` process."""

    app: NotifyApp
    redis: Redis

    async def aclose(self) -> None:
        await self.redis.aclose()


def build_notify(settings: Settings) -> NotifyService:
    store, client = feed_store(settings)
    return NotifyService(create_app(settings, store), client)


@dataclass
class FeedApi:
    """The feed API's ASGI app and the Redis client it reads through."""

    app: FastAPI
    redis: Redis

    async def aclose(self) -> None:
        await self.redis.aclose()


def build_feed_api(settings: Settings) -> FeedApi:
    store, client = feed_store(settings)
    app = api.create_app(store, settings.feed_token_secret.get_secret_value(), utc_now)
    return FeedApi(app, client)
