"""pickup_svc's decision-deadline timer: reminders, escalations and automatic decisions.

Runs on the runtime's timers (services/common/runtime/timers.py), in its own transaction: finds
the open requests old enough for some tenant's first step (one indexed query), locks their
orders like a batch does, takes each order's due step (domain/deadline.py) and writes the
orders back; the step is marked on the request (`reminded_at`, `escalated_at`, or the decision
itself) in the same transaction as the messages, so it is never taken twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.common.runtime.seam import Connection, Outgoing, subject_of
from services.common.runtime.timers import Timer, TimerContext
from services.pickup_svc.adapters.unit_of_work import PickupDependencies, PickupUnitOfWork
from services.pickup_svc.domain.deadline import SLA_ACTOR, DeadlinePolicies, deadline_step
from services.pickup_svc.domain.decision import Decision
from services.pickup_svc.domain.events import CancelDecided
from services.pickup_svc.domain.rules import Rejected
from services.pickup_svc.handlers import TABLE, event_message, payment_commands

NAME = "pickup-decision-deadline"
# Most requests looked at per run; the rest wait for the next run.
BATCH = 200


def deadline_timer(
    deps: PickupDependencies, policies: DeadlinePolicies, period: timedelta
) -> Timer:
    def fire(conn: Connection, ctx: TimerContext) -> Sequence[Outgoing]:
        rows = conn.execute(
            "SELECT tenant_id, order_id FROM pickup.cancel_requests"
            " WHERE decision IS NULL AND escalated_at IS NULL AND requested_at <= %s"
            " ORDER BY requested_at LIMIT %s",
            (ctx.now - policies.earliest_reminder, BATCH),
        ).fetchall()
        keys = {(r[0], r[1]) for r in rows}
        if not keys:
            return []
        uow = PickupUnitOfWork(conn, ctx.now, deps, names=TABLE.names, command=TABLE.command)
        uow.load_keys(keys)
        out: list[Outgoing] = []
        for tenant_id, order_id in sorted(keys):
            order = uow.order(tenant_id, order_id)
            if order is None:
                continue
            step = deadline_step(order, ctx.now, policies.for_tenant(tenant_id), uow.void_bill)
            if step is None or isinstance(step, Rejected):
                continue
            uow.stage(step.order)
            out += _messages(ctx, step)
        uow.flush()
        return out

    return Timer(NAME, period, fire)


def _messages(ctx: TimerContext, step: Decision) -> list[Outgoing]:
    out: list[Outgoing] = []
    order = step.order
    for event in step.events:
        topic, data = event_message(step, event)
        request_id = getattr(event, "request_id", "")
        message = ctx.event(
            topic,
            event.type,
            data,
            tenantid=order.tenant_id,
            subject=subject_of(event.type, data),
            key=f"{order.tenant_id}/{order.order_id}/{request_id}/{event.type}",
            actor=SLA_ACTOR,
        )
        out.append(message)
        if isinstance(event, CancelDecided):
            # payment_svc's answers correlate with the automatic decision that caused them.
            out += payment_commands(step, cause=message.envelope, source=ctx.source, now=ctx.now)
    return out
