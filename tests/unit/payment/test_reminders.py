"""Which giros the daily reminder names, on which business day (the clock passed in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from services.payment_svc.domain.model import Giro, Payment
from services.payment_svc.domain.reminders import business_day, giro_overdue

GIRO = Payment(
    "t1",
    "P-1",
    "C-1",
    "giro",
    "web",
    Decimal("10.00"),
    date(2026, 11, 1),
    "active",
    "cmd-1",
    giro=Giro("BG-1", "BRI", date(2026, 11, 20)),
)


def test_the_business_day_is_the_date_in_wib() -> None:
    assert business_day(datetime(2026, 11, 21, 16, 59, tzinfo=UTC), 7) == date(2026, 11, 21)
    assert business_day(datetime(2026, 11, 21, 17, 0, tzinfo=UTC), 7) == date(2026, 11, 22)


def test_an_active_giro_is_overdue_from_the_day_after_its_due_date() -> None:
    assert giro_overdue(GIRO, date(2026, 11, 20)) is None
    event = giro_overdue(GIRO, date(2026, 11, 23))
    assert event is not None and event.days_overdue == 3


def test_a_resolved_bounced_or_cash_payment_is_never_reminded() -> None:
    for other in (
        replace(GIRO, status="completed"),
        replace(GIRO, status="bounced"),
        replace(GIRO, method="cash", giro=None),
    ):
        assert giro_overdue(other, date(2026, 11, 23)) is None
