"""The seeded pickup command stream (``random.Random(seed)``) and the decision scenario's commands.

Sellers arrange pickups (``pickup.arrange`` on ``pickup.commands``, with the order's invoice and
payments), ask to cancel some (``pickup.cancel.requested`` on its own topic, with a reason), an
admin decides (``pickup.cancel.decide``: ~70 % approve, which also emits invoice.void and
payment.release on ``payment.commands``), approved orders are arranged again (a new airway bill),
and couriers report status (``pickup.status``). The airway bill is minted by the service, so a
pre-produced courier status names one the order does not hold: the service accepts it and changes
nothing (a status for an unknown bill is ignored). ~3 % duplicates re-sent.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.commands import Command, build
from bench.workload import ADMIN
from schemas import topics

TENANTS = ("bench-shop-1", "bench-shop-2")
COURIERS = ("JNE", "SICEPAT", "JNT")

MIX: dict[str, int] = {
    "arrange": 35,
    "request": 25,
    "decide": 20,
    "status": 12,
    "rearrange": 5,
    "duplicate": 3,
}


def seller(tenant: str) -> str:
    return f"user:seller-{tenant}"


class PickupStream:
    """An endless, deterministic stream of pickup commands; ``take(n)`` hands out the next n."""

    def __init__(self, seed: int, *, prefix: str = "pick") -> None:
        self.rng = random.Random(seed)
        self.prefix = f"{prefix}{seed}"
        self.time = datetime.now(UTC)
        self._n = 0
        self._orders = 0
        self.arranged: list[tuple[str, str]] = []
        self.pending: list[tuple[str, str]] = []
        self.cancelled: list[tuple[str, str]] = []
        self.sent: list[Command] = []
        self._kinds = list(MIX)
        self._weights = list(MIX.values())

    def take(self, count: int) -> list[Command]:
        return [next(self) for _ in range(count)]

    def __iter__(self) -> Iterator[Command]:
        return self

    def __next__(self) -> Command:
        kind = self.rng.choices(self._kinds, self._weights)[0]
        made = self._make(kind) or self._arrange_new()
        if not made.duplicate:
            self.sent.append(made)
        return made

    def _make(self, kind: str) -> Command | None:
        if kind == "arrange":
            return self._arrange_new()
        if kind == "request" and self.arranged:
            order = self.arranged.pop(self.rng.randrange(len(self.arranged)))
            self.pending.append(order)
            return self.request(*order)
        if kind == "decide" and self.pending:
            order = self.pending.pop(self.rng.randrange(len(self.pending)))
            approve = self.rng.random() < 0.7
            (self.cancelled if approve else self.arranged).append(order)
            return self.decide(*order, approve=approve)
        if kind == "status" and self.arranged:
            tenant, order_id = self.rng.choice(self.arranged)
            return self._status(tenant, order_id)
        if kind == "rearrange" and self.cancelled:
            order = self.cancelled.pop(self.rng.randrange(len(self.cancelled)))
            self.arranged.append(order)
            return self.arrange(*order)
        if kind == "duplicate" and self.sent:
            c = self.rng.choice(self.sent[-1000:])
            return Command(c.id, c.type, c.topic, c.key, c.value, duplicate=True)
        return None

    def _command(
        self, type_: str, topic: str, tenant: str, order_id: str, data: dict[str, Any], actor: str
    ) -> Command:
        self._n += 1
        self.time += timedelta(milliseconds=1)
        source = "/bench/seller-app" if actor.startswith("user:") else "/bench/backoffice"
        return build(
            type_,
            order_id,
            {"order_id": order_id, **data},
            msg_id=f"{self.prefix}-{self._n:08d}",
            tenant=tenant,
            actor=actor,
            source=source,
            topic=topic,
            time=self.time,
        )

    def new_order(self) -> tuple[str, str]:
        self._orders += 1
        return self.rng.choice(TENANTS), f"ORD-{self.prefix}-{self._orders:07d}"

    def _arrange_new(self) -> Command:
        order = self.new_order()
        self.arranged.append(order)
        return self.arrange(*order)

    def arrange(self, tenant: str, order_id: str) -> Command:
        data = {
            "courier": self.rng.choice(COURIERS),
            "payment_type": self.rng.choice(["cod", "prepaid"]),
            "invoice_no": f"INV-{order_id}",
            "payment_nos": [f"PR-{order_id}"],
        }
        return self._command(
            "pickup.arrange", topics.PICKUP_COMMANDS, tenant, order_id, data, seller(tenant)
        )

    def request(self, tenant: str, order_id: str) -> Command:
        data = {"reason": "Pembeli membatalkan pesanan", "origin": "order"}
        return self._command(
            "pickup.cancel.requested",
            topics.PICKUP_CANCEL_REQUESTED,
            tenant,
            order_id,
            data,
            seller(tenant),
        )

    def decide(self, tenant: str, order_id: str, *, approve: bool) -> Command:
        data: dict[str, Any] = {"decision": "approve" if approve else "reject"}
        data["reason"] = "Disetujui" if approve else "Paket sudah dikemas, tidak bisa dibatalkan"
        return self._command(
            "pickup.cancel.decide", topics.PICKUP_COMMANDS, tenant, order_id, data, ADMIN
        )

    def _status(self, tenant: str, order_id: str) -> Command:
        data = {"awb": f"UNKNOWN-{self._n}", "status": "picked_up"}
        return self._command(
            "pickup.status", topics.PICKUP_COMMANDS, tenant, order_id, data, "system:courier"
        )
