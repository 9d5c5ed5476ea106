"""docs/RELIABILITY.md: what the run did to the services and what it found."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.check import Findings
from chaos.config import Mode
from chaos.drive import Faults
from chaos.stack import System


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def summary(
    mode: Mode,
    system: System,
    faults: Faults,
    found: Findings,
    elapsed_s: float,
    sending_s: float,
) -> dict[str, Any]:
    return {
        "mode": mode.name,
        "ok": found.ok,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": _git_revision(),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "elapsed_s": round(elapsed_s, 1),
        # The rate asked for and the one the sender (its oracle in the same process, beside the
        # services on the same cores) kept.
        "sending": {
            "offered_per_s": mode.rate,
            "seconds": round(sending_s, 1),
            "per_s": round(mode.commands / sending_s, 1) if sending_s > 0 else None,
        },
        "kills": system.kills,
        "rebalances": system.rebalances,
        "unplanned_restarts": system.restarts,
        "outages": [
            {
                "what": o.what,
                "seconds": o.seconds,
                "catch_up_s": None if o.catch_up_s is None else round(o.catch_up_s, 1),
                "within_2x": o.catch_up_s is not None and o.catch_up_s <= 2 * o.seconds,
            }
            for o in faults.outages
        ],
        "drained_s": None if found.drained_s is None else round(found.drained_s, 1),
        "counts": found.counts,
        "hostile": {
            "total": found.hostile_total,
            "by_kind": dict(sorted(found.hostile_by_kind.items())),
            "accounted": dict(sorted(found.hostile_accounted.items())),
            "unaccounted": len(found.hostile_unaccounted),
        },
        "lost": len(found.lost),
        "duplicated": len(found.duplicated),
        "cross_tenant": len(found.cross_tenant),
        "state_differences": len(found.state_diffs),
        "verify_violations": len(found.violations),
        "log_leaks": len(found.log_leaks),
        "examples": {
            "lost": found.lost[:10],
            "duplicated": found.duplicated[:10],
            "cross_tenant": found.cross_tenant[:10],
            "state_differences": found.state_diffs[:10],
            "hostile_unaccounted": found.hostile_unaccounted[:10],
            "verify_violations": found.violations[:10],
            "log_leaks": found.log_leaks[:10],
        },
        "timeline": [
            {"at_s": round(e.at, 1), "what": e.what, "detail": e.detail} for e in system.events
        ],
    }


def render(result: dict[str, Any]) -> str:
    verdict = "PASSED" if result["ok"] else "FAILED"
    drained = result["drained_s"]
    drained_text = "not within the timeout" if drained is None else f"{drained} s"
    lines = [
        "# Reliability: the chaos run",
        "",
        f"Written by `make chaos{'' if result['mode'] == 'full' else '-quick'}` "
        f"({result['mode']} run) on {result['when']}, revision {result['revision']}, "
        f"{result['machine']}. **{verdict}** in {result['elapsed_s']} s.",
        "",
        "One known workload goes through payment_svc, pickup_svc and notify_svc, each its own",
        "`lunas serve` process, while the run SIGKILLs them at random moments, scales payment_svc",
        "and pickup_svc between one and two processes, cuts Postgres and then Redis (TCP proxies),",
        "and mixes hostile messages into the traffic. The expected outcome of every command is",
        "computed by the services' own handlers on in-memory state, in send order",
        "(`chaos/oracle.py`).",
        "",
        "## Outcome",
        "",
        "| | |",
        "|---|---|",
        f"| lost | {result['lost']} |",
        f"| duplicated | {result['duplicated']} |",
        f"| cross-tenant effects | {result['cross_tenant']} |",
        f"| state different from the oracle | {result['state_differences']} |",
        f"| hostile messages not accounted for | {result['hostile']['unaccounted']}"
        f" of {result['hostile']['total']} |",
        f"| `lunas verify` violations | {result['verify_violations']} |",
        f"| log lines with a customer name or a secret | {result['log_leaks']} |",
        f"| drained after the last command (all groups, outboxes, waiting) | {drained_text} |",
        "",
        "## Faults",
        "",
        f"- SIGKILLs: {result['kills']} (each process restarted at once)",
        f"- rebalances from scaling 1 → 2 → 1: {result['rebalances']}",
        f"- services that died by themselves: {result['unplanned_restarts']}",
    ]
    for o in result["outages"]:
        catch = (
            "did not catch up" if o["catch_up_s"] is None else f"caught up in {o['catch_up_s']} s"
        )
        ok = "within" if o["within_2x"] else "NOT within"
        lines.append(
            f"- {o['what']} unreachable for {o['seconds']:.0f} s: {catch} ({ok} 2 × the outage)"
        )
    lines += ["", "## Traffic", "", "| | |", "|---|---|"]
    sending = result.get("sending") or {}
    if sending.get("per_s"):
        lines.append(
            f"| sent at | {sending['per_s']:.0f} commands/s over {sending['seconds']:.0f} s "
            f"(offered {sending['offered_per_s']:.0f}/s) |"
        )
    lines += [f"| {name} | {value} |" for name, value in result["counts"].items()]
    lines += ["", "## Hostile messages", "", "| kind | sent |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["hostile"]["by_kind"].items()]
    lines += ["", "| what became of them | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["hostile"]["accounted"].items()]
    problems = {k: v for k, v in result["examples"].items() if v}
    if problems:
        lines += ["", "## What went wrong (first examples)", ""]
        for name, examples in problems.items():
            lines += [f"- {name}:"] + [f"  - `{e}`" for e in examples]
    lines += [
        "",
        "## Timeline (first 40 events)",
        "",
        "| at (s) | what | detail |",
        "|---|---|---|",
    ]
    lines += [f"| {e['at_s']} | {e['what']} | {e['detail']} |" for e in result["timeline"][:40]]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], docs: Path, json_path: Path | None) -> None:
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(render(result))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
