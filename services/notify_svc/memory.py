"""In-memory ports of the handling core: for unit tests and for building the example files.

They behave like the Redis ones (idempotent feed writes, set-then-read-all joins) without IO.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.notify_svc.handling import Ports
from services.notify_svc.model import Locale, Notification
from services.notify_svc.rules import Routing


@dataclass
class MemoryFeed:
    items: dict[str, Notification] = field(default_factory=dict)

    async def add(self, notification: Notification) -> bool:
        is_new = notification.notification_id not in self.items
        self.items.setdefault(notification.notification_id, notification)
        return is_new


@dataclass
class MemoryJoins:
    entries: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    async def remember(
        self, tenantid: str, correlationid: str, name: str, value: str
    ) -> Mapping[str, str]:
        joined = self.entries.setdefault((tenantid, correlationid), {})
        joined[name] = value
        return dict(joined)


@dataclass
class MemoryLocales:
    chosen: dict[tuple[str, str], Locale] = field(default_factory=dict)

    async def locale_of(self, tenantid: str, recipient: str) -> Locale | None:
        return self.chosen.get((tenantid, recipient))


def memory_ports(routing: Routing | None = None) -> Ports:
    """Fresh in-memory ports (each field its own store)."""
    return Ports(MemoryFeed(), MemoryJoins(), MemoryLocales(), routing or Routing())
