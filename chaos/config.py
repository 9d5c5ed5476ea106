"""The two sizes of a chaos run: ``make chaos`` (full) and ``make chaos-quick`` (CI)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Mode:
    name: str
    commands: int  # legitimate commands (duplicates included)
    hostile: int
    kills: int
    scalings: int  # 1 → 2 or 2 → 1 of payment_svc / pickup_svc: one rebalance each
    outage_s: float  # Postgres unreachable this long, then Redis this long
    rate: float  # commands per second the upstream systems send
    seed: int = 20261201
    tenants: tuple[str, ...] = ("chaos-t1", "chaos-t2", "chaos-t3")
    drain_timeout_s: float = 300.0

    def scaled(self, factor: float) -> Mode:
        if factor == 1.0:
            return self
        return replace(
            self,
            name=f"{self.name} x{factor:g}",
            commands=max(200, int(self.commands * factor)),
            hostile=max(50, int(self.hostile * factor)),
            kills=max(1, int(self.kills * factor)),
            scalings=max(2, int(self.scalings * factor)),
        )


FULL = Mode("full", commands=100_000, hostile=10_000, kills=100, scalings=20, outage_s=30, rate=170)
QUICK = Mode("quick", commands=5_000, hostile=1_000, kills=8, scalings=4, outage_s=8, rate=60)
