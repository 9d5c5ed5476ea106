"""Timers over real Postgres and a real broker: a timer keeps its period, a held timer is skipped
by another process, what it marks is never emitted twice, and what it emits is published."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from schemas import topics
from services.common.migrations import migrate
from services.common.runtime.seam import Connection, Outgoing
from services.common.runtime.timers import Timer, TimerContext, TimerRunner
from services.common.settings import Settings
from tests.integration.runtime.helpers import read_topic, running, wait_for
from tests.integration.runtime.toy_service import prepare, toy_spec

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DUE_DDL = (
    "CREATE TABLE IF NOT EXISTS public.toy_due ("
    " item text PRIMARY KEY, due_at timestamptz NOT NULL, reminded_at timestamptz)"
)


def remind_due(conn: Connection, ctx: TimerContext) -> Sequence[Outgoing]:
    """The toy timer: one invoice.issued per item due and not reminded yet; marks it reminded."""
    rows = conn.execute(
        "SELECT item FROM public.toy_due WHERE reminded_at IS NULL AND due_at <= %s"
        " ORDER BY item FOR UPDATE SKIP LOCKED",
        (ctx.now,),
    ).fetchall()
    items = [r[0] for r in rows]
    conn.execute(
        "UPDATE public.toy_due SET reminded_at = %s WHERE item = ANY(%s)", (ctx.now, items)
    )
    return [
        ctx.event(
            topics.PAYMENT_EVENTS,
            "invoice.issued",
            {
                "invoice_no": item,
                "customer_id": "CUST-1",
                "amount": "1.00",
                "outstanding": "1.00",
                "status": "unpaid",
                "issue_date": "2026-11-22",
            },
            tenantid="t1",
            subject=item,
            key=f"{item}/reminder",
        )
        for item in items
    ]


def _setup(dsn: str, *items: tuple[str, datetime]) -> None:
    migrate(dsn, "toy")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DUE_DDL)
        for item, due in items:
            conn.execute("INSERT INTO public.toy_due (item, due_at) VALUES (%s, %s)", (item, due))


def _outbox(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT event_id, msg_value FROM toy.outbox ORDER BY seq").fetchall()
    return [(r[0], json.loads(bytes(r[1]))["subject"]) for r in rows]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _runner(pool: ConnectionPool[Connection], clock: Clock, fire: Any = remind_due) -> TimerRunner:
    timer = Timer("toy-reminder", timedelta(hours=1), fire)
    return TimerRunner([timer], service="toy", schema="toy", pool=pool, clock=clock, tick_s=0)


def test_a_timer_keeps_its_period_across_processes_and_emits_each_item_once(
    fresh_database: str,
) -> None:
    dsn = fresh_database
    _setup(
        dsn, ("DUE-1", T0 - timedelta(hours=1)), ("DUE-2", T0), ("LATER", T0 + timedelta(hours=2))
    )
    clock = Clock(T0)
    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        first, second = _runner(pool, clock), _runner(pool, clock)  # two processes
        timer = first.timers[0]
        assert [r.event_id for _, r in first.run_once(timer)] != []
        assert [s for _, s in _outbox(dsn)] == ["DUE-1", "DUE-2"]

        clock.now = T0 + timedelta(minutes=30)  # within the period: neither runs it again
        assert second.run_once(timer) == []
        assert first.run_once(timer) == []

        clock.now = T0 + timedelta(hours=2)  # due again: only LATER is new
        assert [r.topic for _, r in second.run_once(timer)] == [topics.PAYMENT_EVENTS]
        clock.now = T0 + timedelta(hours=5)
        assert first.run_once(timer) == []  # ran, nothing left to remind
        restarted = _runner(pool, clock)
        assert restarted.run_once(timer) == []  # a restart within the period does not run it

    emitted = _outbox(dsn)
    assert [s for _, s in emitted] == ["DUE-1", "DUE-2", "LATER"]
    assert len({e for e, _ in emitted}) == 3
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT runs, last_run_at FROM toy.timers").fetchall() == [
            (3, T0 + timedelta(hours=5))
        ]


def test_a_timer_running_in_one_process_is_skipped_by_another(fresh_database: str) -> None:
    dsn = fresh_database
    _setup(dsn, ("DUE-1", T0))
    inside, release = threading.Event(), threading.Event()

    def slow(conn: Connection, ctx: TimerContext) -> Sequence[Outgoing]:
        out = remind_due(conn, ctx)
        inside.set()
        assert release.wait(30)
        return out

    clock = Clock(T0)
    with ConnectionPool(dsn, min_size=2, max_size=3, kwargs={"autocommit": True}) as pool:
        holder, other = _runner(pool, clock, slow), _runner(pool, clock)
        result: list[Any] = []
        thread = threading.Thread(target=lambda: result.append(holder.run_once(holder.timers[0])))
        thread.start()
        assert inside.wait(30)
        assert other.run_once(other.timers[0]) == []  # held: skipped at once, not waited for
        release.set()
        thread.join(30)
        assert len(result) == 1 and len(result[0]) == 1
        clock.now = T0 + timedelta(hours=1)
        assert other.run_once(other.timers[0]) == []  # DUE-1 was marked with the emission
    assert [s for _, s in _outbox(dsn)] == ["DUE-1"]


def test_a_failing_timer_emits_nothing_and_marks_nothing(fresh_database: str) -> None:
    dsn = fresh_database
    _setup(dsn, ("DUE-1", T0))

    def broken(conn: Connection, ctx: TimerContext) -> Sequence[Outgoing]:
        remind_due(conn, ctx)
        raise RuntimeError("a bug after marking")

    clock = Clock(T0)
    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        _runner(pool, clock, broken).tick()  # logged, not raised
        assert _outbox(dsn) == []
        fixed = _runner(pool, clock)
        fixed.tick()
    assert [s for _, s in _outbox(dsn)] == ["DUE-1"]


def test_a_service_publishes_what_its_timers_emit_once_across_a_restart(
    test_settings: Settings,
) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    _setup(dsn, ("DUE-1", T0))
    clock = Clock(T0)
    spec = dataclasses.replace(
        toy_spec(), clock=clock, timers=[Timer("toy-reminder", timedelta(hours=1), remind_due)]
    )
    settings = test_settings.model_copy(update={"timer_tick_seconds": 0.05})

    def published(rs: list[Any]) -> bool:
        return {json.loads(r.value())["subject"] for r in rs} >= {"DUE-1", "DUE-2"}

    with running(spec, settings):
        wait_for(lambda: len(_outbox(dsn)) == 1, what="the first reminder")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO public.toy_due (item, due_at) VALUES ('DUE-2', %s)", (T0,))
        clock.now = T0 + timedelta(hours=1)
        wait_for(lambda: len(_outbox(dsn)) == 2, what="the second reminder")
    clock.now = T0 + timedelta(hours=3)
    with running(spec, settings):  # a restart, past the period: nothing left to emit
        wait_for(lambda: _runs(dsn) == 3, what="the run after the restart")
    assert len(_outbox(dsn)) == 2
    records = read_topic(bootstrap, topics.PAYMENT_EVENTS, published)
    subjects = [json.loads(r.value())["subject"] for r in records]
    assert sorted(subjects) == ["DUE-1", "DUE-2"]
    assert {json.loads(r.value())["actor"] for r in records} == {"system:toy"}


def _runs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        # The runtime's own half-way timer of waiting commands (waiting.py) runs beside it.
        row = conn.execute(
            "SELECT coalesce(sum(runs), 0) FROM toy.timers WHERE name <> 'waiting.halfway'"
        ).fetchone()
    return int(row[0]) if row else 0
