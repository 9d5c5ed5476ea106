"""Capped exponential backoff, and which failures are transient (retried, never dead-lettered).

One list for every service, whatever its clients: Postgres (payment_svc, pickup_svc), Redis and
aiokafka (notify_svc), the network under any of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

# Failures that pass if we wait: the server is away or busy, not the message wrong. Named, not
# imported, so a service loads only the clients it uses (redis-py alone costs ~20 MB of RSS); a
# class of a module that was never imported cannot have been raised. A subclass counts.
TRANSIENT_ERRORS = frozenset(
    {
        # Postgres away or refusing for now; includes the pool's timeout, serialization
        # failures and deadlocks (all subclasses of OperationalError).
        "psycopg.OperationalError",
        # Any Redis error: it is infrastructure (down, loading, out of memory, read-only replica),
        # never a property of the message; a NOSCRIPT after a restart is reloaded by redis-py.
        "redis.exceptions.RedisError",
        # aiokafka's errors (the broker away, a leader moving, a request timing out).
        "aiokafka.errors.KafkaError",
        # The network itself; includes the builtin TimeoutError (= asyncio.TimeoutError).
        "builtins.OSError",
    }
)


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
    """Whether `exc` is (a subclass of) one of `TRANSIENT_ERRORS`."""
    return any(
        f"{kind.__module__}.{kind.__qualname__}" in TRANSIENT_ERRORS for kind in type(exc).__mro__
    )
