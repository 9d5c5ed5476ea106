"""The daily reminder of a Giro still Active past its due date, through the topics: one per Giro
per business day, exactly once across runs and a restart, none for what cleared or bounced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.adapters.reminders import NAME
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    issue,
    record,
    send_in_turn,
    simple,
    watching,
)
from tests.integration.runtime.helpers import running, wait_for

pytestmark = pytest.mark.integration

# The helpers' giros are due 2026-11-21; these are 09:00 WIB (UTC+7) on the days named.
DUE_DAY = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
DAY_AFTER = DUE_DAY + timedelta(days=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _runs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT runs FROM payment.timers WHERE name = %s", (NAME,)).fetchone()
    return int(row[0]) if row else 0


def _next_run(dsn: str, clock: Clock, now: datetime) -> None:
    """Move the clock to ``now`` and wait until the reminder timer has run at that time."""
    before = _runs(dsn)
    clock.now = now
    wait_for(lambda: _runs(dsn) > before, what=f"the reminder timer to run at {now}")


def test_one_reminder_per_overdue_giro_per_day(test_settings: Settings) -> None:
    settings = test_settings.model_copy(
        update={"timer_tick_seconds": 0.05, "payment_giro_reminder_period_seconds": 60}
    )
    dsn = settings.database_dsn()
    clock = Clock(DUE_DAY)
    spec = build_spec(settings, clock=clock)
    with watching(settings) as watcher:
        with running(spec, settings):
            send_in_turn(
                settings,
                issue("INV-R", "900.00"),
                record("P-LATE", "500.00", [("INV-R", "500.00")], method="giro"),
                record("P-CLEARED", "300.00", method="giro"),
                record("P-CASH", "100.00"),
                simple("payment.resolve", "P-CLEARED", resolved_date="2026-11-21"),
            )
            _next_run(dsn, clock, DUE_DAY + timedelta(minutes=5))  # due today: not overdue
            _next_run(dsn, clock, DAY_AFTER)
            [first] = watcher.wait("payment.giro.overdue", topics.PAYMENT_EVENTS)
            _next_run(dsn, clock, DAY_AFTER + timedelta(hours=3))  # the same day again
        with running(spec, settings):  # a restart on the same day
            _next_run(dsn, clock, DAY_AFTER + timedelta(hours=6))
            _next_run(dsn, clock, DAY_AFTER + timedelta(days=1))
            watcher.wait("payment.giro.overdue", topics.PAYMENT_EVENTS, count=2)
            send_in_turn(settings, simple("payment.bounce", "P-LATE", reason="dana kurang"))
            watcher.wait("payment.bounced", topics.PAYMENT_EVENTS)
            _next_run(dsn, clock, DAY_AFTER + timedelta(days=2))
        watcher.poll(2)

    reminders = watcher.matching("payment.giro.overdue")
    assert [(r.message["subject"], r.data["reminder_date"]) for r in reminders] == [
        ("P-LATE", "2026-11-22"),
        ("P-LATE", "2026-11-23"),
    ]
    assert [r.data["days_overdue"] for r in reminders] == [1, 2]
    assert first.message["actor"] == "system:payment"
    assert first.data["giro"] == {"number": "BG-P-LATE", "bank": "BRI", "due_date": "2026-11-21"}
    assert first.data["status"] == "active"
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT payment_no, day::text FROM payment.giro_reminders ORDER BY day"
        ).fetchall()
    assert rows == [("P-LATE", "2026-11-22"), ("P-LATE", "2026-11-23")]
