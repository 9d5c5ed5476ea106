"""The processes a benchmark measures: ``lunas serve <name>`` children, their RSS and profiles.

Each child is started with the ``LUNAS_*`` variables of its scenario's stack (as ``lunas run``
passes them), its own session and a parent-death signal, and is stopped with SIGTERM (the
service finishes the batch in hand and exits) in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.infra import Stack
from bench.measure import rss_mb
from services.common.devstack import ChildProcess, spawn_child
from services.ops.stack import settings_env

BENCH_ADMIN = "bench-admin"
VENV_BIN = Path(sys.executable).parent


def service_env(stack: Stack, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(settings_env(stack.settings))
    env.update(
        {
            # docs/ARCHITECTURE.md "Who may send it": the bench's admin is an admin of both
            # services.
            "LUNAS_PAYMENT_ADMINS": BENCH_ADMIN,
            "LUNAS_PICKUP_ADMINS": BENCH_ADMIN,
            "LUNAS_LOG_FORMAT": "json",
        }
    )
    env.update(overrides)
    return env


@dataclass
class Service:
    """A running ``lunas serve`` child."""

    name: str
    child: ChildProcess

    @property
    def pid(self) -> int:
        return self.child.proc.pid

    def alive(self) -> bool:
        return self.child.alive()

    def pids(self) -> list[int]:
        """The process and, under ``--processes N``, its members (the supervisor's children)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            children = []
        return [self.pid, *(int(c) for c in children)]

    @property
    def worker_pid(self) -> int:
        """The process doing the work: this one, or under ``--processes N`` its first member."""
        pids = self.pids()
        return pids[min(1, len(pids) - 1)]

    def rss_mb(self) -> float:
        """The highest resident set of the process and its members (each a process of its own)."""
        return max(rss_mb(pid) for pid in self.pids())

    def assigned(self, members: int = 1) -> bool:
        """The process (or each of its ``members``) logged a partition assignment."""
        try:
            log = self.child.log_path.read_text(errors="replace")
        except OSError:
            return False
        pids = {
            line.partition('"pid":')[2].partition(",")[0].strip()
            for line in log.splitlines()
            if "consumer.assigned" in line
        }
        return len(pids) >= members if members > 1 else "assigned" in log

    def check(self) -> None:
        if not self.alive():
            raise RuntimeError(
                f"{self.name} exited with {self.child.proc.returncode}:\n{self.child.log_tail(20)}"
            )


def check_all(services: list[Service]) -> None:
    """Raise (with its log tail) if any of ``services`` has exited."""
    for s in services:
        s.check()


def wait_assigned(services: list[Service], timeout: float = 15.0, members: int = 1) -> bool:
    """Until every process logged an assignment (True) or ``timeout`` passed (False).

    The embedded broker describes groups without members, so the logs are what tells."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for s in services:
            s.check()
        if all(s.assigned(members) for s in services):
            return True
        time.sleep(0.1)
    return False


def start_service(stack: Stack, name: str, tag: str = "", **overrides: str) -> Service:
    return _start(stack, name, tag, (), overrides)


def start_members(
    stack: Stack, name: str, processes: int, tag: str = "", **overrides: str
) -> Service:
    """``lunas serve <name> --processes N``: one supervisor, N members of one group (N = 1:
    ``start_service``)."""
    args = ("--processes", str(processes)) if processes > 1 else ()
    return _start(stack, name, tag, args, overrides)


def _start(
    stack: Stack, name: str, tag: str, args: tuple[str, ...], overrides: dict[str, str]
) -> Service:
    label = f"{name}{tag}"
    child = spawn_child(
        label,
        [str(VENV_BIN / "lunas"), "serve", name, *args],
        stack.workdir / "logs" / f"{label}.log",
        env=service_env(stack, **overrides),
    )
    return Service(label, child)


@contextlib.contextmanager
def running(stack: Stack, name: str, tag: str = "", **overrides: str) -> Iterator[Service]:
    service = start_service(stack, name, tag, **overrides)
    try:
        yield service
    finally:
        service.child.stop(timeout=30)


@dataclass(frozen=True)
class Profile:
    """What py-spy saw: samples, and the frames that held them (self and inclusive share)."""

    samples: int
    seconds: float
    top_self: list[tuple[str, float]]
    top_inclusive: list[tuple[str, float]]
    error: str = ""


def profile(pid: int, seconds: float, out: Path, top: int = 40) -> Profile:
    """``py-spy record`` of ``pid`` for ``seconds`` (non-blocking sampling, 100 Hz, all threads)."""
    py_spy = VENV_BIN / "py-spy"
    argv = [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--format",
        "raw",
        "--nonblocking",
        "--rate",
        "100",
        "-o",
        str(out),
    ]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Profile(0, seconds, [], [], error=str(exc))
    if done.returncode != 0 or not out.exists():
        return Profile(0, seconds, [], [], error=(done.stderr or done.stdout)[-500:])
    return _summarise(out.read_text(), seconds, top)


def _summarise(raw: str, seconds: float, top: int) -> Profile:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[_short(frames[-1])] += count
        for frame in {_short(f, line=False) for f in frames}:
            inclusive[frame] += count
    if total == 0:
        return Profile(0, seconds, [], [], error="no samples")
    return Profile(
        total,
        seconds,
        [(f, n / total) for f, n in own.most_common(top)],
        [(f, n / total) for f, n in inclusive.most_common(top)],
    )


def _short(frame: str, *, line: bool = True) -> str:
    """``func (path/to/pkg/module.py:12)`` → ``func (pkg/module.py:12)`` (without ``:12``)."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, number = where.rpartition(":")
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    if not short:
        return name
    return f"{name} ({short}:{number})" if line and number else f"{name} ({short})"
