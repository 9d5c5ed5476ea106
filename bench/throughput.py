"""Throughput scenarios: the ceiling, the naive peer, a service as shipped (sustained), 1 vs 2.

Each runs on a fresh broker and database; the commands are produced before the measured process
starts, so the figure is the apply rate, not the producer's. The window opens at the first
settled inbox row (process start-up and group join are left out) and closes when the time is up
or the backlog is drained.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench.commands import Command, unique_count
from bench.context import Run
from bench.infra import Stack, produce_all
from bench.measure import Probe, Sample, rate, wait_until
from bench.procs import (
    Profile,
    Service,
    check_all,
    profile,
    running,
    start_members,
    wait_assigned,
)


@dataclass
class Window:
    """What a measuring window saw."""

    first: Sample
    last: Sample
    unique: int
    rss: dict[str, float] = field(default_factory=dict)
    topped_up: int = 0
    drained: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.last.at - self.first.at,
            "settled": self.last.settled - self.first.settled,
            "commands_per_s": rate(self.first, self.last),
            "events_per_s": rate(self.first, self.last, "sent"),
            "produced_distinct": self.unique,
            "topped_up": self.topped_up,
            "drained": self.drained,
            "rss_mb": self.rss,
        }


def first_settled(probe: Probe, services: list[Service], timeout: float = 120) -> Sample:
    found: list[Sample] = []

    def seen() -> bool:
        sample = probe.sample()
        if sample.settled > 0:
            found.append(sample)
        return bool(found)

    wait_until(seen, timeout, "first settled command", 0.05, partial(check_all, services))
    return found[0]


class TopUp:
    """Keeps a backlog in front of the service: produces the stream's next chunk in a thread."""

    def __init__(self, stack: Stack, more: Callable[[int], list[Command]]) -> None:
        self.stack, self.more = stack, more
        self.thread: threading.Thread | None = None
        self.added_unique = 0
        self.added = 0

    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, count: int) -> None:
        def work() -> None:
            chunk = self.more(count)
            produce_all(self.stack.settings.kafka_config(), chunk)
            self.added += len(chunk)
            self.added_unique += unique_count(chunk)

        self.thread = threading.Thread(target=work, name="bench-top-up", daemon=True)
        self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def drive(
    run: Run,
    probe: Probe,
    services: list[Service],
    unique: int,
    *,
    seconds: float,
    cap: float | None = None,
    until_settled: int = 0,
    top_up: TopUp | None = None,
    watch_rss: tuple[int, ...] = (),
    first: Sample | None = None,
) -> Window:
    """Sample every 0.5 s from ``first`` (by default the first settled row) for ``seconds``
    (longer, up to ``cap``, until ``until_settled`` rows are settled); stop early when drained
    and nothing is topped up."""
    first = first or first_settled(probe, services)
    window = Window(first, first, unique)
    cap = max(cap or seconds, seconds)
    while True:
        time.sleep(0.5)
        for s in services:
            s.check()
        sample = probe.sample()
        window.last = sample
        elapsed = sample.at - first.at
        rss = sum(s.rss_mb() for s in services)
        window.rss["peak"] = max(window.rss.get("peak", 0.0), rss)
        for mark in watch_rss:
            if sample.settled >= mark and f"at_{mark}" not in window.rss:
                window.rss[f"at_{mark}"] = rss
        total = unique + (top_up.added_unique if top_up else 0)
        backlog = total - sample.settled - sample.waiting
        current = rate(first, sample)
        run.progress.update(
            f"{sample.settled:,} settled, {current:,.0f}/s, backlog {backlog:,}, {elapsed:.0f}s"
        )
        if elapsed >= cap or (elapsed >= seconds and sample.settled >= until_settled):
            break
        if top_up is not None and not top_up.busy() and backlog < max(200.0, current * 4):
            top_up.start(int(max(1000.0, current * 15)))
            continue
        if backlog <= 0 and (top_up is None or not top_up.busy()):
            window.drained = True
            break
    window.rss["steady"] = sum(s.rss_mb() for s in services)
    window.topped_up = top_up.added if top_up else 0
    return window


# --- 1. the ceiling --------------------------------------------------------------------------


def ceiling(run: Run) -> dict[str, Any]:
    commands = run.payment_commands(0, run.mode.ceiling_commands)
    with run.stack("ceiling") as stack:
        produce_all(stack.settings.kafka_config(), commands)
        run.progress.update(f"{len(commands):,} records produced; bare loop draining them")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.ceiling",
                "--bootstrap",
                stack.bootstrap,
                "--dsn",
                stack.dsn,
                "--records",
                str(len(commands)),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the ceiling loop failed:\n{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["commands_per_s"] = result["per_s"] * unique_count(commands) / len(commands)
    result["records_per_s"] = result["per_s"]
    return result


# --- 2. the naive peer and 3./9. payment_svc as shipped ------------------------------------


def naive(run: Run) -> dict[str, Any]:
    commands = run.payment_commands(0, run.mode.naive_commands)
    return _on_backlog(run, "naive", commands, run.mode.naive_seconds, LUNAS_BATCH_SIZE="1")


def _on_backlog(
    run: Run, label: str, commands: list[Command], seconds: float, **overrides: str
) -> dict[str, Any]:
    """payment_svc (with ``overrides`` in its environment) on ``commands`` produced first, for
    ``seconds`` or until drained."""
    with run.stack(label) as stack:
        produce_all(stack.settings.kafka_config(), commands)
        probe = Probe(stack.dsn, "payment")
        try:
            with running(stack, "payment", f"-{label}", **overrides) as svc:
                window = drive(run, probe, [svc], unique_count(commands), seconds=seconds)
            return {**window.as_dict(), "outcomes": probe.outcomes()}
        finally:
            probe.close()


PAYMENT_TABLES = (
    "invoices",
    "payments",
    "allocations",
    "allocation_history",
    "status_history",
    "inbox",
    "outbox",
)


def sustained(run: Run) -> dict[str, Any]:
    """payment_svc as shipped on a long backlog; RSS at mem_low/mem_high; a profile at the end."""
    mode = run.mode
    commands = run.payment_commands(0, mode.sustain_commands)
    offset = [len(commands)]

    def more(count: int) -> list[Command]:
        chunk = run.payment_commands(offset[0], count)
        offset[0] += count
        return chunk

    with run.stack("payment") as stack:
        produce_all(stack.settings.kafka_config(), commands)
        probe = Probe(stack.dsn, "payment")
        top_up = TopUp(stack, more)
        try:
            with running(stack, "payment") as svc:
                window = drive(
                    run,
                    probe,
                    [svc],
                    unique_count(commands),
                    seconds=mode.sustain_seconds,
                    cap=mode.sustain_cap_seconds,
                    until_settled=mode.mem_high,
                    top_up=top_up,
                    watch_rss=(mode.mem_low, mode.mem_high),
                )
                top_up.join()
                found = _profile_under_load(run, stack, probe, svc, window, more)
            result = window.as_dict()
            result["outcomes"] = probe.outcomes()
            result["rows"] = probe.table_rows(PAYMENT_TABLES)
            result["profile"] = found.__dict__
            return result
        finally:
            probe.close()


def _profile_under_load(
    run: Run,
    stack: Stack,
    probe: Probe,
    svc: Service,
    window: Window,
    more: Callable[[int], list[Command]],
) -> Profile:
    seconds = run.mode.profile_seconds
    sample = probe.sample()
    backlog = window.unique + window.topped_up - sample.settled - sample.waiting
    per_s = max(rate(window.first, window.last), 50.0)
    if backlog < per_s * (seconds + 2):
        produce_all(stack.settings.kafka_config(), more(int(per_s * (seconds + 4))))
    run.progress.update(f"py-spy record of {svc.name} for {seconds:.0f}s under load")
    return profile(svc.pid, seconds, stack.workdir / "payment.pyspy.txt")


def issue_only(run: Run) -> dict[str, Any]:
    """payment_svc on a backlog of the stream's ``invoice.issue`` commands alone (no waiting, no
    refusals: each is one new invoice, its history entry and its event)."""
    stream = run.payment_commands(0, run.mode.sustain_commands)
    commands = [c for c in stream if c.type == "invoice.issue" and not c.duplicate]
    return _on_backlog(run, "issue", commands, run.mode.sustain_seconds)


SCALE_PROCESSES = (1, 2, 4)


def scale(run: Run) -> dict[str, Any]:
    """``lunas serve payment --processes N`` for N = 1, 2, 4, each on a fresh stack with the same
    backlog. The members join an empty group first; the backlog is produced once every member
    logged its assignment, and the window opens when it is all on the broker, so no N is measured
    while its group is still forming or on what an earlier N left over."""
    commands = run.payment_commands(0, run.mode.scale_commands)
    unique = unique_count(commands)
    found: dict[str, Any] = {}
    for processes in SCALE_PROCESSES:
        with run.stack(f"scale{processes}") as stack:
            probe = Probe(stack.dsn, "payment")
            service = start_members(stack, "payment", processes, f"-x{processes}")
            try:
                joined = wait_assigned([service], timeout=60, members=processes)
                time.sleep(0.5)  # let the last rebalance settle before the backlog arrives
                produce_all(stack.settings.kafka_config(), commands)
                window = drive(
                    run,
                    probe,
                    [service],
                    unique,
                    seconds=run.mode.scale_seconds,
                    first=probe.sample(),
                )
            finally:
                service.child.stop(timeout=60)
                probe.close()
            found[f"scale{processes}"] = {
                **window.as_dict(),
                "processes": processes,
                "all_assigned": joined,
            }
    return found
