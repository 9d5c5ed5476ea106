"""The benchmark suite runs end to end at tiny counts and writes both report files, every section.

Benchmarks are not tests: no figure is asserted here, only that each scenario ran and reported.
The suite runs on embedded servers only (``LUNAS_*`` URLs are dropped): on a configured broker it
would delete and recreate the lunas topics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SECTIONS = (
    "## Machine",
    "## Settings",
    "## Targets",
    "## Every figure",
    "## 1. Ceiling",
    "## 2. Naive peer",
    "## 3. payment_svc as shipped",
    "## 4. pickup_svc as shipped",
    "## 3b. payment_svc on invoice.issue alone",
    "## 5. Latency",
    "## 6. Decision → notification",
    "## 7. Replay",
    "## 8. Memory",
    "## 9. Scale",
)
SCENARIOS = (
    "ceiling",
    "naive",
    "payment",
    "issue",
    "pickup",
    "latency",
    "replay",
    "scale1",
    "scale2",
    "scale4",
    "notify",
)


@pytest.mark.timeout(240)
def test_tiny_run_writes_every_section(tmp_path: Path) -> None:
    docs, results = tmp_path / "BENCHMARKS.md", tmp_path / "latest.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--mode",
            "tiny",
            "--docs",
            str(docs),
            "--json",
            str(results),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[bench" in done.stderr  # the progress line
    report = docs.read_text()
    missing = [s for s in SECTIONS if s not in report]
    assert not missing, f"sections missing from the report: {missing}"
    found = json.loads(results.read_text())
    failed = {
        k: found[k]["error"] for k in SCENARIOS if "error" in found.get(k, {"error": "absent"})
    }
    assert not failed, f"scenarios that did not run: {failed}"
    assert found["machine"]["cpu_count"] and found["settings"]["mode"]["name"] == "tiny"
