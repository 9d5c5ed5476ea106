"""Reading a service from outside: inbox outcomes, published outbox rows, rates and percentiles.

"Settled" is an inbox row whose outcome is final (applied, rejected:*, dead_lettered:*); an inbox
row still ``pending`` (claimed, not decided) or ``waiting`` (for an aggregate,
docs/ARCHITECTURE.md "Waiting") is not. A duplicate re-sent adds no inbox row, so settled rows
count distinct commands.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, Message
from psycopg import sql

UNSETTLED = ("pending", "waiting")


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    settled: int
    waiting: int
    sent: int

    @property
    def taken(self) -> int:
        """Inbox rows decided or parked waiting: what the service is done with for now."""
        return self.settled + self.waiting


class Probe:
    """One autocommit connection reading ``<schema>.inbox`` and ``<schema>.outbox`` counts."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.schema = schema

    def close(self) -> None:
        self.conn.close()

    def sample(self) -> Sample:
        now = time.monotonic()
        try:
            row = self.conn.execute(
                sql.SQL(
                    "SELECT count(*) FILTER (WHERE outcome NOT IN ('pending', 'waiting')),"
                    " count(*) FILTER (WHERE outcome = 'waiting') FROM {}.inbox"
                ).format(sql.Identifier(self.schema))
            ).fetchone()
            sent = self.conn.execute(
                sql.SQL("SELECT count(*) FROM {}.outbox WHERE sent_at IS NOT NULL").format(
                    sql.Identifier(self.schema)
                )
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return Sample(now, 0, 0, 0)  # the service has not migrated yet
        assert row is not None and sent is not None
        return Sample(now, int(row[0]), int(row[1]), int(sent[0]))

    def outcomes(self) -> dict[str, int]:
        rows = self.conn.execute(
            sql.SQL("SELECT outcome, count(*) FROM {}.inbox GROUP BY 1 ORDER BY 2 DESC").format(
                sql.Identifier(self.schema)
            )
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def table_rows(self, tables: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for table in tables:
            row = self.conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(self.schema), sql.Identifier(table)
                )
            ).fetchone()
            found[table] = int(row[0]) if row else 0
        return found


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (VmRSS of /proc/PID/status); 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def wait_until(
    done: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.2,
    alive: Callable[[], None] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        if alive is not None:
            alive()
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


def rate(first: Sample, last: Sample, field: str = "settled") -> float:
    seconds = last.at - first.at
    if seconds <= 0:
        return 0.0
    return float(getattr(last, field) - getattr(first, field)) / seconds


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max (nearest rank) of latencies in ms; empty input gives NaN."""
    if not values_ms:
        nan = math.nan
        return {"count": 0, "p50": nan, "p95": nan, "p99": nan, "max": nan}
    ordered = sorted(values_ms)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    return {
        "count": len(ordered),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": ordered[-1],
    }


class Progress:
    """A progress line on stderr: rewritten in place on a terminal, else a line every 5 s."""

    def __init__(self, total_steps: int) -> None:
        self.total = total_steps
        self.step_no = 0
        self.step_name = ""
        self.started = time.monotonic()
        self._last_line = 0.0
        self._tty = sys.stderr.isatty()

    def step(self, name: str) -> None:
        self.step_no += 1
        self.step_name = name
        self._write(f"{name}: starting", force=True)

    def update(self, text: str) -> None:
        self._write(f"{self.step_name}: {text}")

    def note(self, text: str) -> None:
        self._write(text, force=True)

    def _write(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self._tty and not force and now - self._last_line < 5:
            return
        self._last_line = now
        elapsed = int(now - self.started)
        line = f"[bench {elapsed // 60:02d}:{elapsed % 60:02d} {self.step_no}/{self.total}] {text}"
        if self._tty:
            sys.stderr.write("\r\x1b[2K" + line[:160])
            if force:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def jsonable(value: Any) -> Any:
    """NaN/inf become None so latest.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def arriving(consumer: Consumer, stop: Callable[[], bool]) -> Iterator[Message]:
    """The consumer's records as they arrive, until ``stop()``: what is queued at once, else the
    first that comes. (``consume(n, timeout)`` returns only once n records came or the timeout
    passed, which a latency reader would add to every figure.)"""
    while not stop():
        first = consumer.poll(0.05)
        if first is None:
            continue
        for msg in [first, *consumer.consume(num_messages=500, timeout=0)]:
            if msg.error() is None:
                yield msg
