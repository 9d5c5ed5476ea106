"""payment_svc's timer: the daily reminder of giros/cheques still Active past their due date.

Each run (``services/common/runtime/timers.py``: its own transaction, the clock passed in) takes
the Active giros due before today's business day that have no reminder row for today, inserts
one row per (payment, day) — the primary key makes it exactly once — and returns a
``payment.giro.overdue`` per row it inserted, committed with those rows. At most ``batch``
payments per run; the next run (``LUNAS_PAYMENT_GIRO_REMINDER_PERIOD_SECONDS``) takes the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import LiteralString

from psycopg.rows import dict_row

from schemas import topics
from services.common.runtime.seam import Connection, Outgoing
from services.common.runtime.timers import Timer, TimerContext
from services.payment_svc.adapters.rows import PAYMENT_COLUMNS, read_payments
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.reminders import business_day, giro_overdue
from services.payment_svc.wire import event_data

NAME = "giro-overdue-reminder"

_MARK_DUE: LiteralString = (
    "WITH due AS (SELECT " + PAYMENT_COLUMNS + " FROM payment.payments p"
    " WHERE p.status = 'active' AND p.giro_due_date < %(day)s AND NOT EXISTS ("
    "   SELECT 1 FROM payment.giro_reminders r WHERE r.tenant_id = p.tenant_id"
    "   AND r.payment_no = p.payment_no AND r.day = %(day)s)"
    ' ORDER BY p.tenant_id COLLATE "C", p.payment_no COLLATE "C" LIMIT %(batch)s)'
    " INSERT INTO payment.giro_reminders (tenant_id, payment_no, day, reminded_at)"
    " SELECT tenant_id, payment_no, %(day)s, %(now)s FROM due"
    " ON CONFLICT DO NOTHING RETURNING tenant_id, payment_no"
)


def giro_reminder_timer(period: timedelta, utc_offset_hours: int, batch: int = 500) -> Timer:
    def fire(conn: Connection, ctx: TimerContext) -> Sequence[Outgoing]:
        day = business_day(ctx.now, utc_offset_hours)
        with conn.cursor(row_factory=dict_row) as cur:
            marked = cur.execute(_MARK_DUE, {"day": day, "now": ctx.now, "batch": batch}).fetchall()
        by_tenant: dict[str, list[str]] = {}
        for row in marked:
            by_tenant.setdefault(row["tenant_id"], []).append(row["payment_no"])
        out: list[Outgoing] = []
        for tenant, numbers in sorted(by_tenant.items()):
            for payment in read_payments(conn, tenant, numbers, lock=False).values():
                event = giro_overdue(payment, day)
                if event is None:  # the query and the domain agree; this is belt and braces
                    continue
                data = event_data(event, Decision(payments=(payment,), events=(event,)))
                out.append(
                    ctx.event(
                        topics.PAYMENT_EVENTS,
                        event.type,
                        data,
                        tenantid=tenant,
                        subject=payment.payment_no,
                        key=f"{tenant}/{payment.payment_no}/{day.isoformat()}",
                    )
                )
        return out

    return Timer(NAME, period, fire)
