"""In-memory ports of the handling core: for unit tests and for building the example files.

They behave like the Redis ones (idempotent feed writes, set-then-read-all joins) without IO.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from services.notify_svc.handling import Ports
from services.notify_svc.model import Locale, Notification
from services.notify_svc.rules import Routing
from services.notify_svc.settlement import JoinEntry


@dataclass
class MemoryFeed:
    items: dict[str, Notification] = field(default_factory=dict)

    async def add_all(self, notifications: Sequence[Notification]) -> list[bool]:
        stored = []
        for notification in notifications:
            stored.append(notification.notification_id not in self.items)
            self.items.setdefault(notification.notification_id, notification)
        return stored


@dataclass
class MemoryJoins:
    entries: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    async def remember_all(self, entries: Sequence[JoinEntry]) -> list[Mapping[str, str]]:
        states: list[Mapping[str, str]] = []
        for entry in entries:
            joined = self.entries.setdefault((entry.tenantid, entry.correlationid), {})
            joined[entry.field] = entry.value
            states.append(dict(joined))
        return states


@dataclass
class MemoryLocales:
    chosen: dict[tuple[str, str], Locale] = field(default_factory=dict)

    async def locales_of(
        self, readers: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Locale]:
        return {reader: self.chosen[reader] for reader in readers if reader in self.chosen}


def memory_ports(routing: Routing | None = None) -> Ports:
    """Fresh in-memory ports (each field its own store)."""
    return Ports(MemoryFeed(), MemoryJoins(), MemoryLocales(), routing or Routing())
