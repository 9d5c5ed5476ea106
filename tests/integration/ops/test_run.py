"""``lunas run`` as an operator meets it: a process with embedded servers, stopped by Ctrl-C;
``lunas trace`` on what its demo played.

Each test starts ``lunas run`` in its own data directory (its own Tansu, Postgres and Redis) and
stops it with SIGINT; none leaves a process behind (checked by pid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psutil
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[3]
TENANT = "dist-test-run"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update({"LUNAS_DATA_DIR": str(data_dir), "LUNAS_FEED_API_PORT": "0",
                "LUNAS_LOG_FORMAT": "json"})  # fmt: skip
    return env


class Run:
    """One ``lunas run`` child; stdout is read line by line, stderr (JSON log) goes to a file."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.err_path = data_dir.parent / f"run-{uuid.uuid4().hex[:6]}.err"
        self._err: IO[bytes] = self.err_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.ops", "run", *args],
            cwd=ROOT, env=_env(data_dir), stdout=subprocess.PIPE, stderr=self._err, text=True,
        )  # fmt: skip

    def line(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.proc.stdout.readline()
            if not text:
                raise AssertionError(f"lunas run ended ({self.proc.poll()}):\n{self.log()[-3000:]}")
            if text.startswith("{"):
                found: dict[str, Any] = json.loads(text)
                return found
        raise AssertionError("no line in time")

    def log(self) -> str:
        return self.err_path.read_text(errors="replace")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def interrupt(self) -> float:
        """SIGINT like a terminal's Ctrl-C; seconds until it exited. Asserts nothing is left."""
        left = self.descendants()
        began = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(15)
        took = time.monotonic() - began
        self._err.close()
        assert code == 0, self.log()[-3000:]
        psutil.wait_procs(left, timeout=5)
        assert [p.pid for p in left if _alive(p)] == []
        return took

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._err.close()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "lunas"


def _lunas(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Another terminal: no LUNAS_* URL, only the data directory (stack.env is found there)."""
    return subprocess.run(
        [sys.executable, "-m", "services.ops", *args], cwd=ROOT, env=_env(data_dir),
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def _issue(
    data_dir: Path, invoice: str, amount: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    data = {"invoice_no": invoice, "customer_id": "CUST-1", "amount": amount,
            "issue_date": "2025-01-02"}  # fmt: skip
    return _lunas(data_dir, "publish", "--type", "invoice.issue", "--subject", invoice,
                  "--tenant", TENANT, "--actor", "system:billing", "--data", json.dumps(data),
                  "--json", *extra)  # fmt: skip


def test_demo_plays_to_the_end_twice_in_a_row_is_traced_and_ctrl_c_stops_each(
    data_dir: Path,
) -> None:
    for attempt in (1, 2):  # the second run meets the first one's Postgres: fresh ids per run
        run = Run(data_dir, "--demo")
        try:
            ready = run.line(90)
            assert ready["ready"] is True
            ready_at = time.monotonic()
            summary = run.line(60)
            took = time.monotonic() - ready_at
            steps = summary["demo"]
            assert len(steps) == 20 and [s for s in steps if s["outcome"] is None] == []
            assert [s for s in steps if s["outcome"] == "no outcome"] == [], attempt
            refused = [s for s in steps if s["outcome"].startswith("rejected:")]
            assert [(s["command"], s["outcome"]) for s in refused] == [
                ("payment.resolve", "rejected:invalid_state")
            ]
            assert took < 60
            assert any("/app?token=" in hint for hint in summary["try"])
            assert (data_dir / "stack.env").exists()
            if attempt == 1:  # what the demo just played, followed by `lunas trace`
                _check_trace_of_the_approval(data_dir, summary)
            assert run.interrupt() < 5
            assert not (data_dir / "stack.env").exists()
        finally:
            run.kill()


def test_ctrl_c_while_starting_stops_at_once(data_dir: Path) -> None:
    run = Run(data_dir)
    try:
        deadline = time.monotonic() + 30
        while len(run.descendants()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # the first embedded server is starting
        assert run.interrupt() < 5
    finally:
        run.kill()


def test_publish_wait_a_killed_service_comes_back_and_the_stack_works(data_dir: Path) -> None:
    run = Run(data_dir)
    try:
        run.line(90)
        first = _issue(data_dir, "INV-RUN-1", "100.00", "--wait")
        assert first.returncode == 0, first.stderr
        assert "using the stack of `lunas run`" in first.stderr
        report = json.loads(first.stdout)
        (sent,) = report["sent_to"]
        assert sent["topic"] == "payment.commands" and sent["offset"] >= 0
        assert [e["type"] for e in report["outcomes"][0]["events"]] == ["invoice.issued"]

        again = _issue(data_dir, "INV-RUN-1", "999.00", "--wait")  # same number, other content
        assert again.returncode == 3, (again.stdout, again.stderr)
        rejected = json.loads(again.stdout)["outcomes"][0]["rejected"]
        assert rejected["command_type"] == "invoice.issue" and rejected["code"]

        (payment,) = [p for p in run.descendants() if p.cmdline()[-2:] == ["serve", "payment"]]
        payment.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "stack.service_restarted" not in run.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert '"stack.service_exited"' in run.log() and "stack.service_restarted" in run.log()
        after = _issue(data_dir, "INV-RUN-2", "200.00", "--wait", "--wait-timeout", "60")
        assert after.returncode == 0, after.stdout
        assert json.loads(after.stdout)["outcomes"][0]["events"][0]["type"] == "invoice.issued"
        assert run.interrupt() < 5
    finally:
        run.kill()


def _find(node: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    found = [node] if node["type"] == type_ else []
    for child in node["children"]:
        found += _find(child, type_)
    return found


def _child_types(node: dict[str, Any]) -> set[str]:
    return {c["type"] for c in node["children"]}


def _check_trace_of_the_approval(data_dir: Path, summary: dict[str, Any]) -> None:
    """``lunas trace`` on what the demo just played: seed 002's approval followed across
    pickup_svc, payment_svc and notify_svc, from their tables and the topics. The tree's shape
    (what caused what, outcomes, recipients, one trace) is asserted, never its times."""
    [approval] = [
        s
        for s in summary["demo"]
        if s["scenario"] == "pickup_cancel_approve" and s["command"] == "pickup.cancel.decide"
    ]
    assert any(f"lunas trace {approval['id']}" in hint for hint in summary["try"])

    shown = _lunas(data_dir, "trace", approval["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    traced = json.loads(shown.stdout)
    [root] = traced["trees"]
    assert (root["kind"], root["type"], root["outcome"], root["service"]) == (
        "command", "pickup.cancel.decide", "applied", "pickup",
    )  # fmt: skip
    assert {"pickup.cancel.decided", "invoice.void", "payment.release"} <= _child_types(root)
    [decided] = _find(root, "pickup.cancel.decided")
    [void] = _find(root, "invoice.void")
    [release] = _find(root, "payment.release")
    for sent in (void, release):
        assert (sent["kind"], sent["service"], sent["outcome"]) == (
            "command", "payment", "applied",
        )  # fmt: skip
    assert "invoice.voided" in _child_types(void)
    # The two commute: whichever payment_svc applies first frees the payment; the other then
    # changes nothing and reports nothing.
    assert "payment.released" in _child_types(void) | _child_types(release)
    seller = _approval_seller(decided)
    told = set(traced["notifications"])
    assert f"pickup_cancel_approved:{seller}" in told
    assert f"invoice_voided:{seller}" in told
    assert f"payment_released:{seller}" in told
    # One trace from the back office's decision to the seller's notifications.
    assert len(traced["trace_ids"]) == 1
    nodes = [root]
    while nodes:
        node = nodes.pop()
        assert node["trace_id"] == traced["trace_ids"][0], node["type"]
        assert node["kind"] == "command" or node["delay_s"] is not None
        nodes += node["children"]

    text = _lunas(data_dir, "trace", approval["id"])
    assert text.returncode == 0, text.stderr
    for what in ("pickup.cancel.decided", "invoice.voided", "payment.released", seller):
        assert what in text.stdout

    unknown = _lunas(data_dir, "trace", "no-such-command")
    assert unknown.returncode == 4
    assert "no service has consumed a command with id 'no-such-command'" in unknown.stderr


def _approval_seller(decided: dict[str, Any]) -> str:
    """The seller who asked: the one recipient of the decision that is neither the tenant feed
    nor an admin."""
    people = {
        c["recipient"]
        for c in decided["children"]
        if c["kind"] == "notification" and c["recipient"].startswith("user:")
    }
    assert len(people) == 1, decided["children"]
    return people.pop()
