"""Per-recipient notification feeds in Redis: idempotent capped writes, paging, read state, push.

Layout of one feed, `F = lunas:feed:{<tenant>:<recipient>}` (both parts percent-encoded so that no
tenant/recipient pair can spell another pair's keys; the braces make every key of a feed one Redis
Cluster hash slot, so the Lua scripts below stay legal on a cluster):
- `F:index`  sorted set, all scores 0, members `<created_at ms, 15 digits>:<notification id>`:
  lexical order is time order, so newest-first paging is ZREVRANGEBYLEX from an exclusive cursor;
- `F:unread` the same members for the unread ones (unread count = ZCARD, unread-only paging alike);
- `F:n:<id>` hash: `json` (the wire form of the notification) and `member` (its index member);
- channel `F:live`: PUBLISH of the JSON when a notification is first stored. Readers do not
  subscribe per feed: the feed API holds one pattern subscription (`LIVE_PATTERN`) per process
  and routes each message by its channel (`live_channel`) to the open streams
  (`services.notify_svc.live`).
Every write is one Lua script, so a crash mid-write leaves either the whole item or nothing (the
dedupe check and the write are one step); a batch's writes go to Redis in one pipeline, one
script call per feed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic_core import to_json
from redis.asyncio import Redis

from services.notify_svc.model import Notification

DEFAULT_CAP = 500
# Every feed's live channel; `{` and `}` are literal in a Redis glob, and percent-encoding keeps
# them (and `:`) out of the tenant and recipient parts, so the pattern matches only live channels.
LIVE_PATTERN = "lunas:feed:{*}:live"

# Adds a feed's items in order, each as a single `add` would: the dedupe check, the write, the
# cap, and the push of what is still there. KEYS: index, unread, then one hash per item; ARGV:
# cap, item key prefix, live channel, then (member, json) per item. Returns 1/0 per item.
_ADD = """
local cap = tonumber(ARGV[1])
local out = {}
for j = 1, #KEYS - 2 do
  local item, member, body = KEYS[2 + j], ARGV[2 + 2 * j], ARGV[3 + 2 * j]
  out[j] = 0
  if redis.call('EXISTS', item) == 0 then
    redis.call('HSET', item, 'json', body, 'member', member)
    redis.call('ZADD', KEYS[1], 0, member)
    redis.call('ZADD', KEYS[2], 0, member)
    local size = redis.call('ZCARD', KEYS[1])
    if size > cap then
      local oldest = redis.call('ZRANGE', KEYS[1], 0, size - cap - 1)
      for _, old in ipairs(oldest) do
        redis.call('DEL', ARGV[2] .. string.match(old, '^%d+:(.*)$'))
        redis.call('ZREM', KEYS[2], old)
      end
      redis.call('ZREMRANGEBYRANK', KEYS[1], 0, size - cap - 1)
    end
    if redis.call('EXISTS', item) == 1 then
      redis.call('PUBLISH', ARGV[3], body)
      out[j] = 1
    end
  end
end
return out
"""
# Items of one feed per script call: a batch costs a command per feed (not per notification),
# and no single call holds Redis for long.
ADD_CHUNK = 100

_PAGE = """
local members = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(members) do
  local item = ARGV[3] .. string.match(member, '^%d+:(.*)$')
  local unread = redis.call('ZSCORE', KEYS[2], member) and 1 or 0
  table.insert(out, member)
  table.insert(out, redis.call('HGET', item, 'json') or '')
  table.insert(out, unread)
end
return out
"""

_GET = """
local member = redis.call('HGET', KEYS[1], 'member')
if not member then return nil end
local unread = redis.call('ZSCORE', KEYS[2], member) and 1 or 0
return {redis.call('HGET', KEYS[1], 'json'), unread}
"""

_MARK_READ = """
local member = redis.call('HGET', KEYS[1], 'member')
if not member then return -1 end
return redis.call('ZREM', KEYS[2], member)
"""

_READ_ALL = """
local count = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1])
return count
"""

_CURSOR_MEMBER = re.compile(r"^\d{15}:[^\s]{1,128}$")
_ID = re.compile(r"^[^\s]{1,128}$")


class InvalidCursor(ValueError):
    """The cursor was not produced by this store (tampered, truncated or from another version)."""


@dataclass(frozen=True, slots=True)
class StoredNotification:
    notification: Notification
    read: bool


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: tuple[StoredNotification, ...]
    next_cursor: str | None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _member(notification: Notification) -> str:
    millis = max(0, int(notification.created_at.timestamp() * 1000))
    return f"{millis:015d}:{notification.notification_id}"


def _encode_cursor(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        member = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if not _CURSOR_MEMBER.match(member):
        raise InvalidCursor(cursor)
    return member


class _FeedKeys:
    def __init__(self, tenantid: str, recipient: str) -> None:
        base = f"lunas:feed:{{{quote(tenantid, safe='')}:{quote(recipient, safe='')}}}"
        self.index = f"{base}:index"
        self.unread = f"{base}:unread"
        self.item_prefix = f"{base}:n:"
        self.channel = f"{base}:live"

    def item(self, notification_id: str) -> str:
        return f"{self.item_prefix}{notification_id}"


def live_channel(tenantid: str, recipient: str) -> str:
    """The channel a first store of a notification for this recipient is published on."""
    return _FeedKeys(tenantid, recipient).channel


def live_notification(data: bytes | str) -> Notification:
    """The notification a live channel message carries; ValueError/KeyError/TypeError if not."""
    return Notification.from_wire(json.loads(_text(data)))


class FeedStore:
    """Feeds keyed by (tenant, recipient); every read is scoped, so an id alone reveals nothing."""

    def __init__(self, redis: Redis, *, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise ValueError("feed cap must be at least 1")
        self._redis = redis
        self._cap = cap
        self._add = redis.register_script(_ADD)
        self._page = redis.register_script(_PAGE)
        self._get = redis.register_script(_GET)
        self._mark_read = redis.register_script(_MARK_READ)
        self._read_all = redis.register_script(_READ_ALL)

    async def add(self, notification: Notification) -> bool:
        """Store `notification` in its recipient's feed; False when it was already there (or is
        older than every item of a full feed). Only a first store is pushed to live subscribers."""
        (stored,) = await self.add_all([notification])
        return stored

    async def add_all(self, notifications: Sequence[Notification]) -> list[bool]:
        """`add` of each, in order, in one pipeline (one round trip, one script call per feed
        and `ADD_CHUNK` items); ValueError, before anything is written, when an id is
        unusable."""
        for notification in notifications:
            if not _ID.match(notification.notification_id):
                raise ValueError(f"unusable notification id {notification.notification_id!r}")
        if not notifications:
            return []
        feeds: dict[tuple[str, str], list[int]] = {}
        for i, notification in enumerate(notifications):
            feeds.setdefault((notification.tenantid, notification.recipient), []).append(i)
        calls: list[list[int]] = []
        async with self._redis.pipeline(transaction=False) as pipe:
            for (tenantid, recipient), indices in feeds.items():
                keys = _FeedKeys(tenantid, recipient)
                for start in range(0, len(indices), ADD_CHUNK):
                    chunk = indices[start : start + ADD_CHUNK]
                    items: list[str] = []
                    args: list[str | bytes | int] = [self._cap, keys.item_prefix, keys.channel]
                    for i in chunk:
                        notification = notifications[i]
                        items.append(keys.item(notification.notification_id))
                        args += [_member(notification), to_json(notification.to_wire())]
                    await self._add(keys=[keys.index, keys.unread, *items], args=args, client=pipe)
                    calls.append(chunk)
            replies = await pipe.execute()
        stored = [False] * len(notifications)
        for chunk, reply in zip(calls, replies, strict=True):
            for i, flag in zip(chunk, reply, strict=True):
                stored[i] = int(flag) == 1
        return stored

    async def page(
        self,
        tenantid: str,
        recipient: str,
        *,
        limit: int,
        cursor: str | None = None,
        unread_only: bool = False,
    ) -> FeedPage:
        """Newest first, `limit` items after `cursor` (an opaque token from a previous page)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        keys = _FeedKeys(tenantid, recipient)
        start = "+" if cursor is None else f"({_decode_cursor(cursor)}"
        raw = await self._page(
            keys=[keys.unread if unread_only else keys.index, keys.unread],
            args=[start, limit + 1, keys.item_prefix],
        )
        rows = [(_text(raw[i]), _text(raw[i + 1]), int(raw[i + 2])) for i in range(0, len(raw), 3)]
        # An empty body cannot happen through this store's scripts; skip rather than fail a page.
        items = tuple(
            StoredNotification(Notification.from_wire(json.loads(body)), read=unread == 0)
            for _, body, unread in rows[:limit]
            if body
        )
        more = len(rows) > limit
        return FeedPage(items, _encode_cursor(rows[limit - 1][0]) if more else None)

    async def get(
        self, tenantid: str, recipient: str, notification_id: str
    ) -> StoredNotification | None:
        """The notification with this id in this recipient's feed; None for anyone else's."""
        if not _ID.match(notification_id):
            return None
        keys = _FeedKeys(tenantid, recipient)
        raw = await self._get(keys=[keys.item(notification_id), keys.unread])
        if raw is None:
            return None
        body, unread = _text(raw[0]), int(raw[1])
        return StoredNotification(Notification.from_wire(json.loads(body)), read=unread == 0)

    async def unread_count(self, tenantid: str, recipient: str) -> int:
        return int(await self._redis.zcard(_FeedKeys(tenantid, recipient).unread))

    async def mark_read(self, tenantid: str, recipient: str, notification_id: str) -> bool:
        """Mark one notification read; False when this feed has no such notification."""
        if not _ID.match(notification_id):
            return False
        keys = _FeedKeys(tenantid, recipient)
        return int(await self._mark_read(keys=[keys.item(notification_id), keys.unread])) >= 0

    async def mark_all_read(self, tenantid: str, recipient: str) -> int:
        """Mark the whole feed read; returns how many were unread."""
        return int(await self._read_all(keys=[_FeedKeys(tenantid, recipient).unread]))
