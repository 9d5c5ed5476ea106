"""``make bench`` / ``make bench-quick``: run the benchmark suite, regenerate docs/BENCHMARKS.md.

``python -m bench`` is the full run (at most ~15 minutes), ``--quick`` the short one (~3 minutes);
``--mode tiny`` is the smoke test's. ``--docs`` / ``--json`` write the report elsewhere;
``--render latest.json`` only regenerates BENCHMARKS.md from a run's saved results; ``--only
notify,notify_rate`` runs just those scenarios (with ``--docs``/``--json`` elsewhere, so the
committed report keeps the full run).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.config import MODES
from bench.report import render
from bench.suite import ROOT, run_suite


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 3 minutes)")
    parser.add_argument("--mode", choices=sorted(MODES), help="full, quick or tiny")
    parser.add_argument("--docs", type=Path, help="where to write BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="where to write latest.json")
    parser.add_argument(
        "--render", type=Path, help="re-render BENCHMARKS.md from this results file"
    )
    parser.add_argument(
        "--only",
        help="comma-separated results keys of the scenarios to run (ceiling, naive, payment, "
        "issue, pickup, latency, replay, scale, notify, notify_fast, notify_rate); the report "
        "is written with those alone",
    )
    args = parser.parse_args(argv)
    if args.render:
        docs = args.docs or ROOT / "docs" / "BENCHMARKS.md"
        docs.write_text(render(json.loads(args.render.read_text())))
        return
    mode = MODES[args.mode or ("quick" if args.quick else "full")]
    only = frozenset(k.strip() for k in (args.only or "").split(",") if k.strip())
    run_suite(mode, docs=args.docs, out=args.json, only=only)


if __name__ == "__main__":
    main()
