"""``python -m chaos [--quick]``: the reliability suite (``make chaos`` / ``make chaos-quick``).

Exit 0 when nothing was lost, duplicated or crossed tenants, every hostile message is accounted
for, the state equals the oracle's and everything drained; else 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.infra import fresh_stack, start_base
from bench.procs import wait_assigned
from chaos import report
from chaos.check import drain, examine
from chaos.config import FULL, QUICK
from chaos.drive import Faults, Sender
from chaos.stack import running_system
from services.common.logging import configure_logging
from services.common.migrations import migrate_all
from services.common.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the CI size (at most 5 minutes)")
    parser.add_argument("--docs", type=Path, help="where the report goes")
    parser.add_argument("--json", type=Path, help="the figures as JSON too")
    parser.add_argument("--scale", type=float, default=1.0, help="scale the counts (debugging)")
    args = parser.parse_args(argv)
    mode = (QUICK if args.quick else FULL).scaled(args.scale)
    docs = args.docs or (
        Path(".lunas/chaos-quick/RELIABILITY.md") if args.quick else Path("docs/RELIABILITY.md")
    )
    configure_logging("WARNING", "json")
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="lunas-chaos-"))
    base = start_base(Settings(), tmp)
    result: dict[str, Any] | None = None
    try:
        with fresh_stack(base, "chaos", redis=True) as stack:
            migrate_all(stack.dsn)
            with running_system(stack) as system:
                consumers = [*system.services["payment"], *system.services["pickup"]]
                wait_assigned(consumers, 60)
                sender = Sender(system, mode)
                faults = Faults(system, mode, sender.duration_s)
                _progress(f"chaos {mode.name}: {mode.commands} commands, {mode.hostile} hostile")
                faults.start()
                sender.run()
                faults.quiet.set()
                for watcher in faults.watchers:
                    watcher.join(mode.drain_timeout_s)
                _progress(f"sent in {time.monotonic() - started:.0f} s; draining")
                drained = drain(system, mode.drain_timeout_s)
                found = examine(system, sender)
                found.drained_s = drained
                faults.stop_event.set()
                faults.join(60)
                if faults.error is not None:
                    found.lost.append(f"the fault thread failed: {faults.error!r}")
                result = report.summary(
                    mode, system, faults, found, time.monotonic() - started, sender.sending_s
                )
    finally:
        base.stop()
        if result is None or not result["ok"]:
            _keep_logs(tmp / "chaos" / "logs", Path(".lunas/chaos-logs"))
        shutil.rmtree(tmp, ignore_errors=True)
    assert result is not None  # else the exception that left it unset is on its way up
    report.write(result, docs, args.json)
    _progress(
        f"{'PASSED' if result['ok'] else 'FAILED'}: lost {result['lost']}, duplicated"
        f" {result['duplicated']}, cross-tenant {result['cross_tenant']}, state diffs"
        f" {result['state_differences']}, hostile unaccounted {result['hostile']['unaccounted']}"
        f" of {result['hostile']['total']}, kills {result['kills']}, rebalances"
        f" {result['rebalances']}; report {docs}"
    )
    return 0 if result["ok"] else 1


def _keep_logs(logs: Path, into: Path) -> None:
    """A failed run's service logs, kept beside its report (the working directory goes)."""
    if not logs.is_dir():
        return
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(logs, into)
    _progress(f"the services' logs of this run: {into}")


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
