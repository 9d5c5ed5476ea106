"""payment_svc itself (not a toy) under the failures the runtime promises to survive: SIGKILLs at
random moments while commands stream in with duplicates, and Postgres going away under load.
Every command has exactly one effect: one inbox outcome, one event, one history entry, no
refusal that a second application would have caused."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.fixtures.tcp_proxy import TcpProxy
from tests.integration.payment.helpers import (
    issue,
    now,
    outcomes,
    record,
    send,
    violations,
    watching,
)
from tests.integration.runtime.helpers import running, start_process, wait_for

pytestmark = pytest.mark.integration


def _workload(count: int) -> list[dict[str, Any]]:
    """Invoices and the payments that pay them, in one stream (a payment after its invoice)."""
    commands: list[dict[str, Any]] = []
    for i in range(count):
        invoice_no = f"INV-K{i:04d}"
        commands.append(now(issue(invoice_no, "100.00")))
        if i % 3 == 0:
            commands.append(now(record(f"P-K{i:04d}", "100.00", [(invoice_no, "100.00")])))
    return commands


def _history(dsn: str) -> Counter[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT command_id FROM payment.status_history").fetchall()
    return Counter(str(r[0]) for r in rows)


def _unsent(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM payment.outbox WHERE sent_at IS NULL").fetchone()
    return int(row[0]) if row else 0


def _exactly_once(dsn: str, watcher: Any, commands: list[dict[str, Any]]) -> None:
    assert outcomes(dsn) == {"applied": len(commands)}
    history = _history(dsn)
    issued = {c["id"] for c in commands if c["type"] == "invoice.issue"}
    recorded = {c["id"] for c in commands if c["type"] == "payment.record"}
    assert {i: history[i] for i in issued} == dict.fromkeys(issued, 1)
    # A payment's record writes the payment's entry and its invoice's (unpaid → paid).
    assert {r: history[r] for r in recorded} == dict.fromkeys(recorded, 2)
    # Every event is on the broker (the outbox drained); the watcher reads its partitions at their
    # own pace, so it waits for every cause, not only for the payments' count.
    caused = issued | recorded

    def outcomes_seen() -> set[str]:
        return {s.message["causationid"] for s in watcher.seen if s.type != "command.waiting"}

    watcher.wait_until(lambda: caused <= outcomes_seen(), 120)
    assert outcomes_seen() == caused
    assert watcher.matching("command.rejected") == []  # a second application would be refused
    # Duplicates on the wire only as the very same event (same id, same content).
    first: dict[str, Any] = {}
    for s in watcher.seen:
        assert first.setdefault(s.message["id"], s.message) == s.message
    # A payment that arrived before its invoice (another partition) was told it waits: once per
    # parking, and a redone batch derives the same id. It is not an outcome.
    waiting = [m for m in first.values() if m["type"] == "command.waiting"]
    assert {m["causationid"] for m in waiting} <= recorded
    assert len(waiting) == len({m["causationid"] for m in waiting})
    assert len(first) - len(waiting) == len(issued) + len(recorded)
    assert violations(dsn) == []


def test_sigkill_at_random_moments_applies_every_command_exactly_once(
    test_settings: Settings, tmp_path: Path
) -> None:
    dsn = test_settings.database_dsn()
    rng = random.Random(20261201)
    commands = _workload(450)
    log = tmp_path / "payment.log"

    def feed() -> None:
        for start in range(0, len(commands), 40):
            chunk = commands[start : start + 40]
            send(test_settings, *chunk, *chunk[:4])  # each chunk with re-sent duplicates
            time.sleep(0.5)

    with watching(test_settings) as watcher:
        feeder = threading.Thread(target=feed)
        feeder.start()
        kills = 0
        while feeder.is_alive() or kills < 12:
            proc = start_process(test_settings, "services.payment_svc.entrypoint", log)
            time.sleep(rng.uniform(0.5, 3.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        feeder.join()
        started = log.read_text().count("service.started")
        final = start_process(
            test_settings, "services.payment_svc.entrypoint", log, log_level="INFO"
        )
        try:
            # SIGTERM is handled once the service runs (a signal during start-up just kills it).
            wait_for(lambda: log.read_text().count("service.started") > started, what="started")
            wait_for(
                lambda: outcomes(dsn).get("applied", 0) == len(commands),
                timeout=180,
                what="every command applied after the kills",
            )
            wait_for(lambda: _unsent(dsn) == 0, timeout=60, what="the outbox drained")
        finally:
            final.send_signal(signal.SIGTERM)
            code = final.wait(60)
        assert code == 0, log.read_text()[-3000:]
        _exactly_once(dsn, watcher, commands)
    assert kills >= 12


def test_postgres_away_under_load_loses_nothing_and_applies_nothing_twice(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    params = conninfo_to_dict(dsn)
    proxy = TcpProxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    params.update(host="127.0.0.1", port=proxy.port)
    settings = test_settings.model_copy(
        update={"database_url": SecretStr(make_conninfo(**params)), "batch_size": 20}
    )
    commands = _workload(300)
    try:
        with watching(test_settings) as watcher, running(build_spec(settings), settings):
            send(test_settings, *commands[:100])
            wait_for(lambda: outcomes(dsn).get("applied", 0) >= 20, what="the first effects")
            proxy.down()
            send(test_settings, *commands[100:])
            time.sleep(6)
            during = outcomes(dsn).get("applied", 0)
            proxy.up()
            wait_for(
                lambda: outcomes(dsn).get("applied", 0) == len(commands),
                timeout=120,
                what="every command applied after the outage",
            )
            assert during < len(commands), "the outage did not interrupt anything"
            _exactly_once(dsn, watcher, commands)
    finally:
        proxy.close()
    assert proxy.refused > 0
