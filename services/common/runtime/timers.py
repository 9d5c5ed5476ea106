"""Scheduled work, exactly once: deadlines and daily reminders a service emits on its own clock.

Contract:
- A service lists ``Timer``s on its ``ServiceWiring``: a name, a period and ``fire(conn, ctx)``,
  which reads its due rows inside the runtime's transaction, marks them done (its own state
  rows) and returns the messages to emit.
- A timer runs at most once per ``period`` on the service's clock (``ctx.now``; the clock is
  passed in), counted from its last run as recorded in the schema's ``timers`` table, so a second
  process or a restart keeps to it. Each run is one transaction holding a per-timer advisory
  lock (``pg_try_advisory_xact_lock``): a process that finds it held skips the turn instead of
  waiting, so two processes never run one timer at once.
- What ``fire`` marked and the outbox rows it returned commit together: a crash emits all or
  nothing, and the next run does not find marked rows again. Ids come from the timer's name and
  the item's key (``ctx.event``), so even a redone run keeps one copy in the outbox.
- Emitted messages go to the outbox and then the fast path, like a batch's outcomes; the relay
  picks up whatever a crash left unsent.
- ``tick`` is called from the consumer's loop (its thread: the fast path keeps ``seq`` order) and
  looks at the timers at most once every ``tick_s``. A transient failure is retried at the next
  tick; a failing ``fire`` rolls its transaction back, is logged and counted, and the other
  timers still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from psycopg import sql
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from schemas import Envelope, derive_id, make_event
from services.common.runtime import metrics
from services.common.runtime.fastpath import FastPath
from services.common.runtime.retry import is_transient
from services.common.runtime.seam import Connection, Outgoing
from services.common.runtime.store import OutboxRow, Store

log = structlog.get_logger(__name__)

TIMER_RUNS = Counter("lunas_timer_runs_total", "Timer runs that committed", ["service", "timer"])
TIMER_EMITTED = Counter(
    "lunas_timer_emitted_total", "Messages timers emitted", ["service", "timer"]
)
TIMER_FAILED = Counter("lunas_timer_failed_total", "Timer runs that failed", ["service", "timer"])


@dataclass(frozen=True, slots=True)
class TimerContext:
    """One run of one timer: when it runs, when it ran last, and who emits for it."""

    timer: str
    now: datetime
    last_run_at: datetime | None
    source: str
    # The actor of what the timer emits unless it names another: ``system:<service>``.
    actor: str

    def event(
        self,
        topic: str,
        type: str,
        data: BaseModel | Mapping[str, Any],
        *,
        tenantid: str,
        subject: str,
        key: str,
        actor: str | None = None,
        cause: Envelope | None = None,
    ) -> Outgoing:
        """A message of this timer about ``key`` (what it is due for: an item and a step, e.g.
        ``tenant/order/request/reminder``); the same key always gives the same id."""
        envelope = make_event(
            type,
            data,
            id=derive_id(f"timer:{self.source}/{self.timer}", key),
            source=self.source,
            time=self.now,
            tenantid=tenantid,
            subject=subject,
            cause=cause,
            actor=actor or self.actor,
        )
        return Outgoing(topic, envelope)


Fire = Callable[[Connection, TimerContext], Sequence[Outgoing]]


@dataclass(frozen=True, slots=True)
class Timer:
    name: str
    period: timedelta
    fire: Fire


class TimerRunner:
    """Runs a service's timers from its consumer loop; see the module's contract."""

    def __init__(
        self,
        timers: Sequence[Timer],
        *,
        service: str,
        schema: str,
        pool: ConnectionPool[Connection],
        clock: Callable[[], datetime],
        fast_path: FastPath | None = None,
        tick_s: float = 5.0,
    ) -> None:
        names = [t.name for t in timers]
        if len(set(names)) != len(names):
            raise ValueError(f"{service}: timer names must be unique, got {names}")
        self.timers = tuple(timers)
        self.service = service
        self.schema = schema
        self.pool = pool
        self.clock = clock
        self.fast_path = fast_path
        self.tick_s = tick_s
        self._store = Store(schema)
        self._last_tick: float | None = None
        ident = sql.Identifier(schema)
        self._last = sql.SQL("SELECT last_run_at FROM {}.timers WHERE name = %s").format(ident)
        self._record = sql.SQL(
            "INSERT INTO {}.timers (name, last_run_at, runs) VALUES (%s, %s, 1)"
            " ON CONFLICT (name) DO UPDATE SET last_run_at = EXCLUDED.last_run_at,"
            " runs = {}.timers.runs + 1"
        ).format(ident, ident)

    def tick(self) -> None:
        """Run every due timer, if ``tick_s`` has passed since the last look."""
        if not self.timers:
            return
        started = time.monotonic()
        if self._last_tick is not None and started - self._last_tick < self.tick_s:
            return
        self._last_tick = started
        for timer in self.timers:
            try:
                inserted = self.run_once(timer)
            except Exception as exc:
                TIMER_FAILED.labels(self.service, timer.name).inc()
                if is_transient(exc):
                    metrics.TRANSIENT.labels(self.service, "timer").inc()
                    log.warning("timer.transient", timer=timer.name, error=str(exc))
                else:
                    log.error("timer.failed", timer=timer.name, error=str(exc), exc_info=exc)
                continue
            if self.fast_path is not None:
                self.fast_path.publish(inserted)

    def run_once(self, timer: Timer) -> list[tuple[int, OutboxRow]]:
        """One run of ``timer`` if it is due and no other process runs it now; the outbox rows
        it inserted (none when it was not due, or held elsewhere)."""
        with self.pool.connection() as conn:
            now = self.clock()
            with conn.transaction():
                lock_key = f"lunas.timer.{self.schema}.{timer.name}"
                row = conn.execute(
                    "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (lock_key,)
                ).fetchone()
                if row is None or not row[0]:
                    return []
                last = conn.execute(self._last, (timer.name,)).fetchone()
                last_run_at: datetime | None = last[0] if last is not None else None
                if last_run_at is not None and now < last_run_at + timer.period:
                    return []
                ctx = TimerContext(
                    timer.name, now, last_run_at, f"/svc/{self.service}", f"system:{self.service}"
                )
                messages = timer.fire(conn, ctx)
                conn.execute(self._record, (timer.name, now))
                inserted = self._store.add_outbox(
                    conn, [OutboxRow.of(m.topic, m.envelope) for m in messages]
                )
        TIMER_RUNS.labels(self.service, timer.name).inc()
        TIMER_EMITTED.labels(self.service, timer.name).inc(len(inserted))
        if inserted:
            log.info("timer.emitted", timer=timer.name, count=len(inserted))
        return inserted
