"""What every scenario of one run shares: the base stack, the mode, the seeded streams, progress."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.commands import Command
from bench.config import Mode
from bench.infra import Base, Stack, fresh_stack
from bench.measure import Progress
from bench.pickup_workload import PickupStream
from bench.workload import PaymentStream


@dataclass
class Run:
    base: Base
    mode: Mode
    progress: Progress
    only: frozenset[str] = frozenset()  # results keys of the scenarios to run; empty: all
    payments: PaymentStream = field(init=False)
    pickups: PickupStream = field(init=False)
    _payment_cache: list[Command] = field(default_factory=list)
    _pickup_cache: list[Command] = field(default_factory=list)
    generated_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.payments = PaymentStream(self.mode.seed)
        self.pickups = PickupStream(self.mode.seed)

    @contextlib.contextmanager
    def stack(self, label: str, *, redis: bool = False) -> Iterator[Stack]:
        """A fresh broker and database (and Redis) for one scenario, with this mode's settings."""
        with fresh_stack(
            self.base, label, redis=redis, session_timeout_ms=self.mode.session_timeout_ms
        ) as stack:
            yield stack

    def payment_commands(self, start: int, count: int) -> list[Command]:
        """Commands ``start`` .. ``start+count`` of the one seeded payment stream."""
        missing = start + count - len(self._payment_cache)
        if missing > 0:
            self._payment_cache.extend(self.payments.take(missing))
        return self._payment_cache[start : start + count]

    def pickup_commands(self, start: int, count: int) -> list[Command]:
        missing = start + count - len(self._pickup_cache)
        if missing > 0:
            self._pickup_cache.extend(self.pickups.take(missing))
        return self._pickup_cache[start : start + count]
