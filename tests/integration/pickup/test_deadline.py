"""The decision deadline through the topics, on a clock the test moves: a reminder at half-time
(once), then an escalation to the supervisors, or an automatic decision by system:pickup-sla."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from schemas import topics
from services.common.settings import Settings
from services.pickup_svc.bootstrap import build_spec
from tests.integration.pickup.helpers import (
    TENANT,
    Watcher,
    arrange,
    cancel,
    command,
    decide,
    send,
)
from tests.integration.runtime.helpers import running, wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ORDER = "ORD-2024-000990"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _runs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT coalesce(sum(runs), 0) FROM pickup.timers").fetchone()
    return int(row[0]) if row else 0


def _advance(clock: Clock, dsn: str, to: datetime) -> None:
    """Move the clock and wait until the deadline timer has run on it."""
    before = _runs(dsn)
    clock.now = to
    wait_for(lambda: _runs(dsn) > before, what="a run of the deadline timer")


def _settings(base: Settings, **update: Any) -> Settings:
    return base.model_copy(
        update={"timer_tick_seconds": 0.05, "pickup_deadline_check_seconds": 1, **update}
    )


def _pending(settings: Settings, watcher: Watcher, order: str, **arrange_kw: Any) -> str:
    send(settings, topics.PICKUP_COMMANDS, arrange(order, **arrange_kw))
    watcher.wait("pickup.arranged", topics.PICKUP_EVENTS, order_id=order)
    send(settings, topics.PICKUP_CANCEL_REQUESTED, cancel(order))
    (pending,) = watcher.wait("pickup.cancel.pending", topics.PICKUP_EVENTS, order_id=order)
    return str(pending.data["request_id"])


def test_a_reminder_at_half_time_once_then_an_escalation_a_supervisor_may_decide(
    test_settings: Settings, watcher: Watcher
) -> None:
    # The tenant's own deadline (12 h) overrides the default (24 h).
    settings = _settings(
        test_settings,
        pickup_decision_hours_by_tenant=f"{TENANT}=12,other-tenant=48",
        pickup_supervisors="sup-1",
    )
    dsn, clock = settings.database_dsn(), Clock()
    with running(build_spec(settings, clock=clock), settings):
        request_id = _pending(settings, watcher, ORDER)
        _advance(clock, dsn, T0 + timedelta(hours=5, minutes=59))
        _advance(clock, dsn, T0 + timedelta(hours=6))
        (reminder,) = watcher.wait("pickup.cancel.reminder", topics.PICKUP_EVENTS, order_id=ORDER)
        assert reminder.data["request_id"] == request_id
        assert reminder.data["deadline"].startswith("2026-11-22T20:00:00")
        assert reminder.message["actor"] == "system:pickup-sla"

        _advance(clock, dsn, T0 + timedelta(hours=9))  # no second reminder
        _advance(clock, dsn, T0 + timedelta(hours=12))
        (escalated,) = watcher.wait("pickup.cancel.escalated", topics.PICKUP_EVENTS)
        assert escalated.data["supervisors"] == ["sup-1"]
        assert escalated.data["request_id"] == request_id
        _advance(clock, dsn, T0 + timedelta(hours=40))  # nothing more after the deadline
        watcher.poll(1)
        assert len(watcher.matching("pickup.cancel.reminder")) == 1
        assert len(watcher.matching("pickup.cancel.escalated")) == 1
        assert not watcher.matching("pickup.cancel.decided")

        # The supervisor may decide it; the request was still open.
        send(
            settings,
            topics.PICKUP_COMMANDS,
            decide(ORDER, "reject", "Sudah dijemput kurir.", actor="admin:sup-1"),
        )
        (decided,) = watcher.wait("pickup.cancel.decided", order_id=ORDER)
    assert decided.data["decided_by"] == "admin:sup-1"
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT reminded_at, escalated_at, decision FROM pickup.cancel_requests"
        ).fetchone()
    assert row == (T0 + timedelta(hours=6), T0 + timedelta(hours=12), "reject")


def test_a_tenant_that_chose_it_gets_an_automatic_approval_that_voids_and_releases(
    test_settings: Settings, watcher: Watcher
) -> None:
    settings = _settings(
        test_settings,
        pickup_decision_hours_by_tenant=f"{TENANT}=0.5",
        pickup_auto_decision_tenants=f"{TENANT}=approve",
    )
    dsn, clock = settings.database_dsn(), Clock()
    invoice, payment = "INV-ORD-2024-000990", "PAY-2024-009901"
    with running(build_spec(settings, clock=clock), settings):
        _pending(settings, watcher, ORDER, invoice_no=invoice, payment_nos=[payment])
        _advance(clock, dsn, T0 + timedelta(minutes=15))
        watcher.wait("pickup.cancel.reminder", order_id=ORDER)
        _advance(clock, dsn, T0 + timedelta(minutes=30))
        (decided,) = watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED)
        (void,) = watcher.wait("invoice.void", topics.PAYMENT_COMMANDS, invoice_no=invoice)
        (release,) = watcher.wait("payment.release", topics.PAYMENT_COMMANDS)
        # The seller may arrange shipping again at once.
        send(settings, topics.PICKUP_COMMANDS, arrange(ORDER))
        (again,) = watcher.wait("pickup.arranged", count=2, order_id=ORDER)[1:]
    data = decided.data
    assert (data["decision"], data["decided_by"]) == ("approve", "system:pickup-sla")
    assert data["reason"] == "no decision within 0.5 h"
    assert data["voided_awb"] and again.data["previous_awb"] == data["voided_awb"]
    assert decided.message["actor"] == "system:pickup-sla"
    # payment_svc's answers can be matched to the automatic decision.
    assert void.message["correlationid"] == decided.message["id"]
    assert release.data["payment_no"] == payment
    assert release.message["actor"] == "system:pickup"
    assert not watcher.matching("pickup.cancel.escalated")


def test_an_automatic_rejection_says_why_and_a_decided_request_gets_no_step(
    test_settings: Settings, watcher: Watcher
) -> None:
    settings = _settings(test_settings, pickup_auto_decision_tenants=f"{TENANT}=reject")
    dsn, clock = settings.database_dsn(), Clock()
    with running(build_spec(settings, clock=clock), settings):
        _pending(settings, watcher, ORDER)
        _pending(settings, watcher, "ORD-DECIDED")
        send(settings, topics.PICKUP_COMMANDS, decide("ORD-DECIDED", "reject", "Tidak bisa."))
        watcher.wait("pickup.cancel.decided", order_id="ORD-DECIDED")
        # Past the deadline at once (the timer was away at half-time): only the deadline's step.
        _advance(clock, dsn, T0 + timedelta(hours=25))
        (decided,) = watcher.wait("pickup.cancel.decided", order_id=ORDER)
        send(
            settings,
            topics.PICKUP_COMMANDS,
            command(
                "pickup.cancel.decide",
                ORDER,
                {"order_id": ORDER, "decision": "approve"},
                actor="admin:admin-1",
                source="/backoffice",
            ),
        )
        (late,) = watcher.wait("command.rejected", topics.PICKUP_EVENTS)
    assert decided.data["decision"] == "reject"
    assert decided.data["reason"] == "no decision within 24 h"
    assert decided.data["decided_by"] == "system:pickup-sla"
    assert not watcher.matching("pickup.cancel.reminder")
    assert late.data["code"] == "invalid_state"
    assert len(watcher.matching("pickup.cancel.decided")) == 2
