"""A read-only Postgres connection per request, from the app's pool (sync routes run in
FastAPI's thread pool, so a slow query holds a thread, never the event loop)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, HTTPException, Request, status
from psycopg_pool import ConnectionPool


def _connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    pool: ConnectionPool[psycopg.Connection[Any]] = request.app.state.pool
    try:
        with pool.connection() as conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the database is unavailable, retry shortly"
        ) from exc


def open_pool(dsn: str, size: int) -> ConnectionPool[psycopg.Connection[Any]]:
    """An opened pool whose sessions cannot write (``default_transaction_read_only``)."""
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        dsn,
        min_size=1,
        max_size=size,
        open=False,
        name="lunas-read-api",
        kwargs={"autocommit": True, "options": "-c default_transaction_read_only=on"},
    )
    pool.open(wait=True, timeout=60)
    return pool


Db = Annotated[psycopg.Connection[Any], Depends(_connection)]
