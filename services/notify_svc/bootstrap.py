"""Composition root of notify_svc: Redis client, feed store, faust app and feed API from Settings.

Everything is built when called, inside the running event loop, never at import time. The faust
app and the FastAPI app are imported where they are built, so tools that only need the feed store
(`lunas feed rebuild`) start without loading either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from services.common.settings import Settings
from services.notify_svc.feed_store import FeedStore

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services.notify_svc.app import NotifyApp

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
    from services.notify_svc.app import create_app

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
    from services.notify_svc import api

    store, client = feed_store(settings)
    app = api.create_app(store, settings.feed_token_secret.get_secret_value(), utc_now)
    return FeedApi(app, client)
