"""Waiting is visible to the sender (DESIGN "Order and waiting"), through the real broker and
Postgres: a payment naming an invoice billing has not issued yet answers `command.waiting`
(naming the invoice and the deadline) at once, once more half-way to its deadline, and then
`payment.recorded` when the invoice comes; `lunas publish --wait` shows the wait and exits 0
applied, 3 rejected, 4 nothing seen, 5 still waiting. The sender's `traceparent` comes back on
all of it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from schemas import topics
from schemas.tracing import trace_id
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.ops.helpers import lunas
from tests.integration.payment.helpers import issue, now, record, send, watching
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# Long enough that the invoice, sent once the half-way message is seen, comes in time on a
# loaded machine; short enough that half of it passes within the test.
TIMEOUT_S = 16


def _publish(settings: Settings, tmp_path: Path, message: dict[str, Any], wait_s: float) -> Result:
    path = tmp_path / f"{message['id']}.json"
    path.write_text(json.dumps(message))
    return lunas(settings, "publish", "--file", str(path), "--wait", "--wait-timeout", str(wait_s))


def test_a_payment_before_its_invoice_says_it_waits_then_is_recorded_and_publish_exits_by_outcome(
    test_settings: Settings, tmp_path: Path
) -> None:
    settings = test_settings.model_copy(
        update={"await_timeout_seconds": TIMEOUT_S, "timer_tick_seconds": 0.5}
    )
    early = {**now(record("P-WV-1", "100.00", [("INV-WV-1", "100.00")])), "traceparent": TRACE}
    with watching(settings) as watcher:
        with running(build_spec(settings), settings):
            applied = _publish(settings, tmp_path, now(issue("INV-WV-0", "100.00")), 60)
            assert applied.exit_code == 0, applied.output
            over = now(record("P-WV-0", "200.00", [("INV-WV-0", "200.00")]))
            rejected = _publish(settings, tmp_path, over, 30)
            assert rejected.exit_code == 3, rejected.output
            assert "REJECTED" in rejected.stdout

            waits = _publish(settings, tmp_path, early, 3)
            assert waits.exit_code == 5, waits.output
            assert f"{early['id']} is waiting for invoice INV-WV-1 until" in waits.stdout
            assert "STILL WAITING" in waits.stdout

            [parked] = watcher.wait("command.waiting", topics.PAYMENT_EVENTS, stage="parked")
            [halfway] = watcher.wait("command.waiting", stage="halfway", timeout=30)
            send(settings, now(issue("INV-WV-1", "100.00")))
            [recorded] = watcher.wait("payment.recorded", payment_no="P-WV-1")
            watcher.poll(2)  # the timer keeps running: no second half-way message comes
        nothing = _publish(settings, tmp_path, now(issue("INV-WV-2", "100.00")), 2)
        assert nothing.exit_code == 4, nothing.output  # no service to answer

    deadline = datetime.fromisoformat(early["time"]) + timedelta(seconds=TIMEOUT_S)
    for told in (parked, halfway):
        assert told.message["causationid"] == early["id"]
        assert told.data["command_id"] == early["id"]
        assert told.data["command_type"] == "payment.record"
        assert told.data["awaiting"] == [{"kind": "invoice", "id": "INV-WV-1"}]
        assert datetime.fromisoformat(told.data["until"]) == deadline
        assert told.message["subject"] == "P-WV-1"
    assert len(watcher.matching("command.waiting", command_id=early["id"])) == 2
    assert recorded.message["causationid"] == early["id"]
    caused = [s.message for s in watcher.seen if s.message.get("causationid") == early["id"]]
    assert {trace_id(m.get("traceparent")) for m in caused} == {trace_id(TRACE)}
    assert watcher.matching("command.rejected", command_id=early["id"]) == []
