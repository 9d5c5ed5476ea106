"""Supervision of ``lunas run``'s services: a crashed one is restarted with backoff and reported.

A service that exits (a crash, ``kill -9``) is started again after 1 s, then 2, 4 … up to 30 s
while it keeps failing; once it has run for a minute the next failure starts from 1 s again. The
embedded servers are not restarted: the broker keeps its log in memory only, so a new one would
be a different stack; their death stops ``lunas run`` (exit 1). The clock is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from services.common.devstack import ChildProcess

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    most_s: float = 30.0
    stable_after_s: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before restart number ``failures`` (1-based) of a failing run."""
        return float(min(self.most_s, self.first_s * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class Report:
    """What happened to a supervised child, for the screen and the log."""

    part: str
    what: str  # "exited" (with the restart planned) or "restarted"
    pid: int
    code: int | None = None
    restart_in_s: float | None = None
    attempt: int = 0
    log_path: str = ""

    def text(self) -> str:
        if self.what == "exited":
            return (
                f"{self.part} (pid {self.pid}) exited with {self.code}; "
                f"restart {self.attempt} in {self.restart_in_s:.0f} s (log {self.log_path})"
            )
        return f"{self.part} restarted (pid {self.pid}, restart {self.attempt})"


@dataclass
class _Watched:
    child: ChildProcess
    started_at: float
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Keeps every service running: ``check()`` is called by the run loop a few times a second."""

    def __init__(
        self,
        children: Mapping[str, ChildProcess],
        start: Callable[[str], ChildProcess],
        clock: Callable[[], float],
        report: Callable[[Report], None],
        backoff: Backoff | None = None,
    ) -> None:
        now = clock()
        self._watched = {name: _Watched(child, now) for name, child in children.items()}
        self._start, self._clock, self._report = start, clock, report
        self._backoff = backoff or Backoff()

    @property
    def children(self) -> list[ChildProcess]:
        return [w.child for w in self._watched.values()]

    def check(self) -> None:
        now = self._clock()
        for name, watched in self._watched.items():
            if watched.restart_at is None and not watched.child.alive():
                self._schedule(name, watched, now)
            elif watched.restart_at is not None and now >= watched.restart_at:
                watched.child = self._start(name)
                watched.started_at, watched.restart_at = now, None
                self._tell(Report(name, "restarted", watched.child.proc.pid,
                                  attempt=watched.failures))  # fmt: skip

    def _schedule(self, name: str, watched: _Watched, now: float) -> None:
        if now - watched.started_at >= self._backoff.stable_after_s:
            watched.failures = 0
        watched.failures += 1
        delay = self._backoff.delay(watched.failures)
        watched.restart_at = now + delay
        child = watched.child
        child.stop(timeout=1)  # reaps it and closes its log file
        self._tell(
            Report(
                name, "exited", child.proc.pid, child.proc.returncode, delay,
                watched.failures, str(child.log_path),
            )
        )  # fmt: skip

    def _tell(self, report: Report) -> None:
        event = "stack.service_exited" if report.what == "exited" else "stack.service_restarted"
        log.warning(event, part=report.part, pid=report.pid, code=report.code,
                    restart_in_s=report.restart_in_s, attempt=report.attempt)  # fmt: skip
        self._report(report)
