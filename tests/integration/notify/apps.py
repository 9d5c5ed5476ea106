"""The feed API app as tests build it: on the test's Redis client, with a client of its own for
the live subscription (which closes it); the process's pools (`bootstrap.feed_api_clients`) are
tested by running the real process."""

from __future__ import annotations

from fastapi import FastAPI
from redis.asyncio import ConnectionPool, Redis

from services.notify_svc.api import Clock, create_app
from services.notify_svc.feed_store import FeedStore
from services.notify_svc.live import LiveFeeds
from services.notify_svc.preferences import PreferenceStore
from services.notify_svc.tokens import TokenKeys


def feed_app(
    redis: Redis,
    keys: TokenKeys,
    clock: Clock,
    *,
    heartbeat_seconds: float = 15.0,
    per_reader: int = 5,
    max_streams: int = 50,
) -> FastAPI:
    pool = redis.connection_pool
    own = Redis.from_pool(ConnectionPool(pool.connection_class, **pool.connection_kwargs))
    return create_app(
        FeedStore(redis),
        keys,
        clock,
        preferences=PreferenceStore(redis),
        live=LiveFeeds(own, per_reader=per_reader, max_streams=max_streams),
        health=redis,
        heartbeat_seconds=heartbeat_seconds,
    )
