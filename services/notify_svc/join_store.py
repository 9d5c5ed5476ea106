"""The join state of `settlement` in Redis: one hash per (tenant, correlation id), expiring.

Key `lunas:notify:join:{<tenant>:<correlation id>}` (both parts percent-encoded, braces for one
Redis Cluster slot). Remembering an entry sets one field and returns every field in one Lua
script, so of two events of one correlation handled at the same time (two agents, two processes)
the later one always sees the earlier; `remember_all` sends a batch's entries in one pipeline, run
in order, so an entry sees those before it in the batch too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis

from services.notify_svc.settlement import JOIN_TTL, JoinEntry

_REMEMBER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _key(tenantid: str, correlationid: str) -> str:
    return f"lunas:notify:join:{{{quote(tenantid, safe='')}:{quote(correlationid, safe='')}}}"


class RedisJoinStore:
    def __init__(self, redis: Redis, *, ttl: timedelta = JOIN_TTL) -> None:
        self._redis = redis
        self._remember = redis.register_script(_REMEMBER)
        self._ttl_ms = int(ttl.total_seconds() * 1000)

    async def remember_all(self, entries: Sequence[JoinEntry]) -> list[Mapping[str, str]]:
        """Each entry set, then its correlation's whole state read, in order, in one pipeline."""
        if not entries:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                await self._remember(
                    keys=[_key(entry.tenantid, entry.correlationid)],
                    args=[entry.field, entry.value, self._ttl_ms],
                    client=pipe,
                )
            replies = await pipe.execute()
        return [
            {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)} for flat in replies
        ]
