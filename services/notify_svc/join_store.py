"""The join state of `settlement` in Redis: one hash per (tenant, correlation id), expiring.

Key `lunas:notify:join:{<tenant>:<correlation id>}` (both parts percent-encoded, braces for one
Redis Cluster slot). Remembering an entry sets one field and returns every field (as one JSON
object) in one Lua script, so of two events of one correlation handled at the same time (two
agents, two processes) the later one always sees the earlier; `remember_all` sends a batch's
entries in one pipeline, run in order, so an entry sees those before it in the batch too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from pydantic_core import from_json
from redis.asyncio import Redis

from services.notify_svc.settlement import JOIN_TTL, JoinEntry

# The state comes back as one JSON object (field → value), not as a reply of 2n bulk strings:
# one string to parse per event instead of a RESP element per field and value.
_REMEMBER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local flat = redis.call('HGETALL', KEYS[1])
local state = {}
for i = 1, #flat, 2 do
  state[flat[i]] = flat[i + 1]
end
return cjson.encode(state)
"""


def _state(reply: Any) -> dict[str, str]:
    state = from_json(reply)
    if not isinstance(state, dict):
        raise TypeError(f"join state is not an object: {reply!r:.80}")
    return {str(k): str(v) for k, v in state.items()}


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
        return [_state(reply) for reply in replies]
