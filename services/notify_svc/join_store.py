"""The join state of `settlement` in Redis: one hash per (tenant, correlation id), expiring.

Key `lunas:notify:join:{<tenant>:<correlation id>}` (both parts percent-encoded, braces for one
Redis Cluster slot). `remember` sets one field and returns every field in one Lua script, so of two
events of one correlation handled at the same time (two agents, two processes) the later one
always sees the earlier.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis

from services.notify_svc.settlement import JOIN_TTL

_REMEMBER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisJoinStore:
    def __init__(self, redis: Redis, *, ttl: timedelta = JOIN_TTL) -> None:
        self._remember = redis.register_script(_REMEMBER)
        self._ttl_ms = int(ttl.total_seconds() * 1000)

    async def remember(
        self, tenantid: str, correlationid: str, name: str, value: str
    ) -> Mapping[str, str]:
        key = f"lunas:notify:join:{{{quote(tenantid, safe='')}:{quote(correlationid, safe='')}}}"
        flat = await self._remember(keys=[key], args=[name, value, self._ttl_ms])
        return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}
