"""The read API app: built from a list of routers, so each service adds its own
(``payment_routes.router``, ``pickup_routes.router``).

Decided: a process of its own (``lunas serve read-api``), not routes in the feed API. The feed
API reads Redis for sellers and must keep serving them when Postgres is slow; this one reads
the services' Postgres tables for admins. They share only the token verification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from fastapi import APIRouter, FastAPI
from psycopg_pool import ConnectionPool

from services.notify_svc.tokens import TokenKeys
from services.readapi import payment_routes, pickup_routes
from services.readapi.auth import AuthConfig

ROUTERS: tuple[APIRouter, ...] = (payment_routes.router, pickup_routes.router)


def create_app(
    pool: ConnectionPool[psycopg.Connection[Any]],
    keys: TokenKeys,
    clock: Callable[[], datetime],
    admins: Mapping[str, frozenset[str]],
    routers: Sequence[APIRouter] = ROUTERS,
) -> FastAPI:
    """The read API over ``pool`` (opened by the caller), admins per service in ``admins``."""
    app = FastAPI(
        title="lunas read API",
        version="1",
        description="Back-office reads for admins: payments (and pickups) with their history.",
    )
    app.state.pool = pool
    app.state.auth = AuthConfig(keys, clock, admins)
    for router in routers:
        app.include_router(router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
