"""The pure parts of ``lunas run``: the demo's per-run ids and order, supervision backoff, the
stack.env file."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.examples import load_scenario
from services.common.settings import Settings
from services.ops import stack_env
from services.ops.stack.demo import demo_steps
from services.ops.stack.demo_plan import DemoBook, plan
from services.ops.stack.supervise import Backoff

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_each_run_gets_its_own_ids_numbers_and_time() -> None:
    first, second = demo_steps("AAA111", NOW), demo_steps("BBB222", NOW)
    assert {s.envelope.id for s in first}.isdisjoint({s.envelope.id for s in second})
    assert {s.envelope.subject for s in first}.isdisjoint({s.envelope.subject for s in second})
    assert all(s.envelope.time == NOW for s in first)
    record = next(s.envelope for s in first if s.envelope.type == "payment.record")
    # The allocation names the invoice under its renamed number, as issued in this run.
    issued = {s.envelope.subject for s in first if s.envelope.type == "invoice.issue"}
    assert {a["invoice_no"] for a in record.data_dict()["allocations"]} <= issued


def test_a_step_waits_only_for_what_the_partition_does_not_order() -> None:
    commands = load_scenario("payment_cancel", commands_only=True)  # issue, record, cancel, resolve
    book = DemoBook(plan({"payment_cancel": commands}, tag="T1", now=NOW))
    issue, record, cancel, resolve = book.states
    assert book.ready() == [issue]  # the record has another key: it waits for the invoice
    book.sent(issue, 0.0)
    assert book.ready() == []
    issue.outcome = "invoice.issued"
    # record, cancel and resolve share topic and key: sent together, the partition orders them.
    assert book.ready() == [record, cancel, resolve]


def test_outcomes_and_rejections_are_booked_by_causation() -> None:
    events = load_scenario("payment_cancel")
    commands = [e for e in events if e.type in {"invoice.issue", "payment.record",
                                                "payment.cancel", "payment.resolve"}]  # fmt: skip
    book = DemoBook(plan({"payment_cancel": commands}, tag="T1", now=NOW))
    rejected = next(e for e in events if e.type == "command.rejected")
    resolve = book.states[3]
    forged = rejected.model_copy(update={"causationid": resolve.step.envelope.id})
    assert book.observe(forged, 1.0) is resolve
    assert resolve.outcome == "rejected:invalid_state" and resolve.rejected
    assert book.observe(rejected, 1.0) is None  # the fixed example id is not this run's
    book.expire(now=100.0, timeout=60)
    assert book.states[0].outcome is None  # never sent: nothing to expire


def test_backoff_doubles_to_a_ceiling() -> None:
    backoff = Backoff(first_s=1, most_s=30)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


def test_stack_env_is_used_only_without_urls_and_only_while_its_run_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("LUNAS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LUNAS_DATA_DIR", str(tmp_path))
    env = {"LUNAS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "LUNAS_REDIS_URL": "redis://h:1/0",
           "LUNAS_DATABASE_URL": "postgresql://u:pw@h:2/db", "LUNAS_BATCH_SIZE": "7"}  # fmt: skip
    path = stack_env.write(Settings(), env, os.getpid())
    assert path.stat().st_mode & 0o077 == 0
    found = stack_env.apply(Settings())
    assert found.settings.kafka_bootstrap_servers == "127.0.0.1:1"
    assert found.settings.batch_size == 200  # only the stack's address is copied
    assert found.note is not None and "pw" not in found.note
    monkeypatch.setenv("LUNAS_KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:9092")
    assert stack_env.apply(Settings()).settings.database_url is None  # a URL set: file unused
    monkeypatch.delenv("LUNAS_KAFKA_BOOTSTRAP_SERVERS")
    stack_env.write(Settings(), env, 2**22 + 12345)  # a pid that does not run
    gone = stack_env.apply(Settings())
    assert gone.settings.kafka_bootstrap_servers is None and "gone" in (gone.note or "")


def test_status_is_one_row_per_group_with_its_waiting_dead_letters_and_outbox() -> None:
    from services.ops.status_view import compact_rows

    group = {"state": "stable", "members": ["a@h"], "lag_approximate": 4, "partitions": []}
    idle = {**group, "lag_approximate": 0}
    report = {
        "kafka": {"groups": {"lunas.payment": group, "lunas.notify": idle},
                  "dlq": {"payment.commands.dlq": 2, "payment.events.dlq": 1}},
        "database": {"payment": {"migrated": True, "waiting": 3, "outbox_unsent": 5}},
    }  # fmt: skip
    assert compact_rows(report) == [
        ["lunas.payment", "stable", 1, 4, 3, 2, 5],
        ["lunas.notify", "stable", 1, 0, None, 1, None],
    ]
