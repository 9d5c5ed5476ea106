"""How big each scenario is in the full run (``make bench``), the quick one and the smoke test's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Mode:
    name: str
    seed: int
    ceiling_commands: int  # the bare loop drains this prefix of the stream
    naive_seconds: float  # the naive peer's measuring window (on a backlog it cannot drain)
    naive_commands: int
    sustain_seconds: float  # payment_svc / pickup_svc as shipped: at least this long
    sustain_cap_seconds: float  # ... and at most this long while memory has not reached mem_high
    sustain_commands: int  # pre-produced before the service starts (topped up if drained)
    mem_low: int  # RSS read when this many commands are settled ...
    mem_high: int  # ... and again at this many
    pickup_commands: int
    latency_seconds: float  # per fixed rate
    latency_rates: tuple[int, ...]  # plus 80 % of the measured maximum
    replay_commands: int
    scale_seconds: float
    scale_commands: int
    notify_orders: int  # decisions sent at notify_rate
    notify_rate: int
    notify_fast_rate: int  # the same scenario again at this rate
    notify_rate_orders: int  # notify_svc alone: approvals (three source events each) from a backlog
    notify_processes: int  # notify_svc's members (``--processes``) in its sustained-rate run
    profile_seconds: float
    session_timeout_ms: int  # LUNAS_KAFKA_SESSION_TIMEOUT_MS of every service started

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Mode(
    name="full",
    seed=20261122,
    ceiling_commands=60_000,
    naive_seconds=20,
    naive_commands=8_000,
    sustain_seconds=60,
    sustain_cap_seconds=240,
    sustain_commands=120_000,
    mem_low=10_000,
    mem_high=100_000,
    pickup_commands=80_000,
    latency_seconds=15,
    latency_rates=(100, 1000),
    replay_commands=20_000,
    scale_seconds=25,
    scale_commands=80_000,
    notify_orders=3_000,
    notify_rate=200,
    notify_fast_rate=1000,
    notify_rate_orders=10_000,
    notify_processes=2,
    profile_seconds=6,
    session_timeout_ms=6000,
)

QUICK = Mode(
    name="quick",
    seed=20261122,
    ceiling_commands=10_000,
    naive_seconds=6,
    naive_commands=2_000,
    sustain_seconds=15,
    sustain_cap_seconds=25,
    sustain_commands=25_000,
    mem_low=1_000,
    mem_high=8_000,
    pickup_commands=20_000,
    latency_seconds=4,
    latency_rates=(100, 1000),
    replay_commands=3_000,
    scale_seconds=5,
    scale_commands=16_000,
    notify_orders=400,
    notify_rate=200,
    notify_fast_rate=1000,
    notify_rate_orders=4_000,
    notify_processes=2,
    profile_seconds=3,
    session_timeout_ms=2000,
)

# The smoke test's: every section runs, nothing is meant to be representative.
TINY = Mode(
    name="tiny",
    seed=20261122,
    ceiling_commands=500,
    naive_seconds=0.5,
    naive_commands=300,
    sustain_seconds=1,
    sustain_cap_seconds=2,
    sustain_commands=800,
    mem_low=100,
    mem_high=300,
    pickup_commands=400,
    latency_seconds=0.25,
    latency_rates=(100, 1000),
    replay_commands=300,
    scale_seconds=0.5,
    scale_commands=1500,
    notify_orders=40,
    notify_rate=200,
    notify_fast_rate=1000,
    notify_rate_orders=50,
    notify_processes=2,
    profile_seconds=1,
    session_timeout_ms=2000,
)

MODES = {m.name: m for m in (FULL, QUICK, TINY)}
