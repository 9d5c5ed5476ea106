"""Capped exponential backoff for transient failures (database, broker unreachable)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import psycopg
import psycopg_pool


def backoff(
    base: float = 0.2, cap: float = 10.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Delays 0.2, 0.4, 0.8 … capped, with jitter so many consumers do not retry in step."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    delay = base
    while True:
        yield delay * (0.5 + rng.random() / 2)
        delay = min(cap, delay * 2)


def is_transient(exc: BaseException) -> bool:
    """Failures that pass if we wait: the server is away, not the message wrong."""
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg_pool.PoolTimeout
        | psycopg.errors.SerializationFailure
        | psycopg.errors.DeadlockDetected,
    )
