"""The daily reminder of a giro/cheque still Active past its due date (pure; the clock is passed
in). The business day is the date at the tenant's offset from UTC (WIB, +7, by default)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from services.payment_svc.domain.events import GiroOverdue, figures
from services.payment_svc.domain.model import CLEARING_METHODS, Payment


def business_day(now: datetime, utc_offset_hours: int) -> date:
    return now.astimezone(timezone(timedelta(hours=utc_offset_hours))).date()


def giro_overdue(payment: Payment, day: date) -> GiroOverdue | None:
    """The reminder for ``day``, or None when the payment is not an Active giro past due."""
    if payment.method not in CLEARING_METHODS or payment.giro is None:
        return None
    if payment.status != "active" or payment.giro.due_date >= day:
        return None
    return GiroOverdue(
        **figures(payment),
        reminder_date=day,
        days_overdue=(day - payment.giro.due_date).days,
    )
