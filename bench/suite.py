"""One benchmark run: every scenario in order on fresh stacks, then the report files.

A scenario that fails is recorded with its error and the run goes on, so the report always has
every section; the decision → notification scenario runs last.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.config import Mode
from bench.context import Run
from bench.infra import start_base
from bench.latency import latency
from bench.measure import Progress, jsonable
from bench.notify import decision_to_notification
from bench.notify_rate import notify_sustained
from bench.pickup import pickup
from bench.replay import replay
from bench.report import machine, render, settings_used
from bench.throughput import ceiling, issue_only, naive, scale, sustained
from services.common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
STEPS = 12
NOTIFY_SCENARIOS = frozenset({"notify", "notify_fast", "notify_rate"})


def _attempt(
    run: Run, results: dict[str, Any], key: str, name: str, step: Callable[[], Any]
) -> None:
    if run.only and key not in run.only:
        return
    run.progress.step(name)
    started = time.monotonic()
    try:
        results[key] = step()
    except Exception as exc:
        results[key] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        run.progress.note(f"{name}: FAILED {type(exc).__name__}: {str(exc)[:200]}")
    results.setdefault("durations_s", {})[key] = time.monotonic() - started
    # The machine is shared: the 1-minute load average after each scenario shows how much.
    results.setdefault("load_after", {})[key] = os.getloadavg()[0]


def _rate(results: dict[str, Any], key: str) -> float:
    value = results.get(key, {})
    return float(value.get("commands_per_s", 0.0)) if isinstance(value, dict) else 0.0


def run_suite(
    mode: Mode,
    docs: Path | None = None,
    out: Path | None = None,
    only: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Every scenario (or those named in `only`, by their results key), then the report."""
    docs = docs or ROOT / "docs" / "BENCHMARKS.md"
    out = out or ROOT / "bench" / "results" / "latest.json"
    started = time.monotonic()
    results: dict[str, Any] = {
        "mode": mode.as_dict(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    progress = Progress(STEPS)
    with tempfile.TemporaryDirectory(prefix="lunas-bench-") as tmp_dir:
        base = start_base(Settings(), Path(tmp_dir))
        try:
            run = Run(base, mode, progress, only=only)
            if not only or only - NOTIFY_SCENARIOS:  # the notify scenarios make their own
                progress.step("stream")
                t0 = time.monotonic()
                run.payment_commands(
                    0, max(mode.sustain_commands, mode.ceiling_commands, mode.scale_commands)
                )
                run.pickup_commands(0, mode.pickup_commands)
                results["stream"] = {"generate_seconds": time.monotonic() - t0, **_mix(run)}
            _attempt(run, results, "ceiling", "1 ceiling (bare loop)", lambda: ceiling(run))
            _attempt(run, results, "naive", "2 naive peer (batch 1)", lambda: naive(run))
            _attempt(run, results, "payment", "3 payment_svc sustained", lambda: sustained(run))
            _attempt(run, results, "issue", "3b invoice.issue alone", lambda: issue_only(run))
            _attempt(run, results, "pickup", "4 pickup_svc sustained", lambda: pickup(run))
            max_rate = _rate(results, "payment") or 100.0
            _attempt(run, results, "latency", "5 latency", lambda: latency(run, max_rate))
            _attempt(run, results, "replay", "7 replay", lambda: replay(run))
            _attempt(run, results, "scale", "9 scale: 1, 2, 4 processes", lambda: scale(run))
            both = results.pop("scale", None)
            for key in ("scale1", "scale2", "scale4") if both is not None else ():
                results[key] = both.get(key, both)  # a failure shows in both
            _attempt(
                run,
                results,
                "notify",
                "6 decision -> notification",
                lambda: decision_to_notification(run),
            )
            _attempt(
                run,
                results,
                "notify_fast",
                f"6b decision -> notification at {mode.notify_fast_rate}/s",
                lambda: decision_to_notification(run, mode.notify_fast_rate),
            )
            _attempt(
                run, results, "notify_rate", "10 notify_svc alone", lambda: notify_sustained(run)
            )
            results["settings"] = settings_used(base, mode)
        finally:
            base.stop()
    results["machine"] = machine()
    results["total_seconds"] = time.monotonic() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(jsonable(results), indent=2, sort_keys=True) + "\n")
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(render(results))
    progress.note(f"done in {results['total_seconds']:.0f}s: {docs} and {out}")
    return results


def _mix(run: Run) -> dict[str, Any]:
    from collections import Counter

    payments = Counter(
        "duplicate" if c.duplicate else c.type
        for c in run.payment_commands(0, run.mode.sustain_commands)
    )
    pickups = Counter(
        "duplicate" if c.duplicate else c.type
        for c in run.pickup_commands(0, run.mode.pickup_commands)
    )
    return {"payment_mix": dict(payments.most_common()), "pickup_mix": dict(pickups.most_common())}
