"""Per-reader preferences in Redis (today: the locale notifications are rendered in).

Key `lunas:prefs:{<tenant>:<recipient>}`, a hash (field `locale`), both parts percent-encoded like
the feed keys. Written by the feed API (`PUT /v1/preferences`), read by notify_svc when it renders
a reader's notifications and by the feed API when it shows them.
"""

from __future__ import annotations

from collections.abc import Collection
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

    async def locales_of(
        self, readers: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Locale]:
        """The chosen locale of each (tenant, recipient) that chose one, in one pipeline."""
        if not readers:
            return {}
        ordered = list(readers)
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenantid, recipient in ordered:
                pipe.hget(_key(tenantid, recipient), "locale")
            values = await pipe.execute()
        chosen = {reader: _locale(value) for reader, value in zip(ordered, values, strict=True)}
        return {reader: locale for reader, locale in chosen.items() if locale is not None}

    async def set_locale(self, tenantid: str, recipient: str, locale: Locale) -> None:
        await self._redis.hset(_key(tenantid, recipient), "locale", locale)
