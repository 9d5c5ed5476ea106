"""Per-reader preferences in Redis (today: the locale notifications are rendered in).

Key `lunas:prefs:{<tenant>:<recipient>}`, a hash (field `locale`), both parts percent-encoded like
the feed keys. Written by the feed API (`PUT /v1/preferences`), read by notify_svc when it renders
a reader's notifications and by the feed API when it shows them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis

from services.notify_svc.model import LOCALES, Locale


def _key(tenantid: str, recipient: str) -> str:
    return f"lunas:prefs:{{{quote(tenantid, safe='')}:{quote(recipient, safe='')}}}"


def _locale(value: Any) -> Locale | None:
    text = value.decode() if isinstance(value, bytes) else value
    return next((locale for locale in LOCALES if locale == text), None)


class PreferenceStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def locale_of(self, tenantid: str, recipient: str) -> Locale | None:
        """The reader's chosen locale; None when they chose none (or it is unreadable)."""
        return _locale(await self._redis.hget(_key(tenantid, recipient), "locale"))

    async def set_locale(self, tenantid: str, recipient: str, locale: Locale) -> None:
        await self._redis.hset(_key(tenantid, recipient), "locale", locale)
