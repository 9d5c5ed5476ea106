"""Example messages of a cancellation nobody decided in time, and of a courier void that failed.

Two tenants, because the decision deadline's outcome is a per-tenant setting: `SELLER` escalates
to the supervisors (`sari`) after 24 h; `AUTO_SELLER` has its requests approved by
`system:pickup-sla` after 12 h. The timer's messages carry the ids pickup_svc's deadline timer
derives (`services/common/runtime/timers.py`) and no cause: nothing was sent to make them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.envelope import Envelope
from schemas.examples.build import SELLER, WIB, _Script
from schemas.examples.pickup import SELLER_USER, _arranged, _billed, _Order, _requested, _settled
from schemas.ids import derive_id

SLA = "system:pickup-sla"
TIMER = "timer:/svc/pickup/pickup-decision-deadline"
SUPERVISOR = "sari"
AUTO_SELLER = "seller-tokoku-12"
AUTO_SELLER_USER = "user:seller-12"

ESCALATED = _Order("000873", "PAY-2024-003312")
AUTO_VOID = _Order("000874", "PAY-2024-003313")


def _waiting(pending: Envelope, hours: int) -> dict[str, object]:
    """What the reminder and the escalation repeat of the request, with its deadline."""
    data = pending.data_dict()
    return {
        "request_id": data["request_id"],
        "order_id": data["order_id"],
        "requested_reason": data["reason"],
        "requested_by": data["requested_by"],
        "requested_at": pending.time,
        "deadline": pending.time + timedelta(hours=hours),
    }


def _timer(s: _Script, type_: str, data: dict[str, object], at: datetime) -> Envelope:
    s.clock = at - timedelta(minutes=1)
    order, request = str(data["order_id"]), str(data["request_id"])
    return s.add(
        type_,
        data,
        source="/svc/pickup",
        id_=derive_id(TIMER, f"{s.tenant}/{order}/{request}/{type_}"),
        actor=SLA,
    )


def pickup_cancel_escalate() -> list[Envelope]:
    """Nobody decides within 24 h: the admins are reminded at 12 h, the supervisors asked at
    24 h, and a supervisor rejects."""
    s = _Script(SELLER, datetime(2024, 5, 6, 9, 0, tzinfo=WIB))
    o = ESCALATED
    _billed(s, o)
    _arranged(s, o, "JNE-0101-7790", None)
    _, pending = _requested(s, o, 1)
    waiting = _waiting(pending, 24)
    _timer(s, "pickup.cancel.reminder", waiting, pending.time + timedelta(hours=12))
    deadline = pending.time + timedelta(hours=24)
    escalated = {**waiting, "supervisors": [SUPERVISOR]}
    _timer(s, "pickup.cancel.escalated", escalated, deadline)
    reason = "Paket sudah dijemput kurir; alamat diubah lewat layanan JNE."
    decide = s.add(
        "pickup.cancel.decide",
        {"order_id": o.id, "decision": "reject", "reason": reason},
        source="/backoffice",
        id_=f"bo-decide-{o.id}-1",
        actor=f"admin:{SUPERVISOR}",
        minutes=40,
    )
    s.add(
        "pickup.cancel.decided",
        {
            "request_id": waiting["request_id"],
            "order_id": o.id,
            "decision": "reject",
            "reason": reason,
            "requested_reason": waiting["requested_reason"],
            "decided_by": f"admin:{SUPERVISOR}",
            "decided_at": s.clock,
            "requested_by": SELLER_USER,
        },
        source="/svc/pickup",
        cause=decide,
    )
    return s.messages


def _void_failed(s: _Script, o: _Order, attempt: int, cause: Envelope | None) -> Envelope:
    answer = "JNE: AWB JNE-0101-7795 sudah masuk manifest, tidak dapat dibatalkan (409)"
    data = {
        "request_id": f"CR-{o.id}-1",
        "order_id": o.id,
        "awb": "JNE-0101-7795",
        "courier": "jne",
        "answer": answer,
        "attempts": attempt,
        "approved_by": SLA,
        "requested_by": AUTO_SELLER_USER,
    }
    if cause is None:  # the automatic approval: the deadline timer's own message
        return _timer(s, "pickup.void.failed", data, s.clock + timedelta(minutes=1))
    return s.add("pickup.void.failed", data, source="/svc/pickup", cause=cause)


def pickup_cancel_auto_void() -> list[Envelope]:
    """Nobody decides within 12 h, so `system:pickup-sla` approves; the courier refuses the
    void twice; an admin marks the bill voided by hand, and the approval goes through."""
    s = _Script(AUTO_SELLER, datetime(2024, 5, 6, 9, 0, tzinfo=WIB))
    o = AUTO_VOID
    _billed(s, o)
    _arranged(s, o, "JNE-0101-7795", None, AUTO_SELLER_USER)
    _, pending = _requested(s, o, 1, AUTO_SELLER_USER)
    waiting = _waiting(pending, 12)
    _timer(s, "pickup.cancel.reminder", waiting, pending.time + timedelta(hours=6))
    deadline = pending.time + timedelta(hours=12)
    s.clock = deadline - timedelta(minutes=1)
    _void_failed(s, o, 1, None)
    retry = s.add(
        "pickup.void.retry",
        {"order_id": o.id},
        source="/backoffice",
        id_=f"bo-void-retry-{o.id}-1",
        actor="admin:rina",
        minutes=50,
    )
    _void_failed(s, o, 2, retry)
    note = "Dibatalkan lewat telepon ke CS JNE, tiket 55120."
    mark = s.add(
        "pickup.void.mark",
        {"order_id": o.id, "reason": note},
        source="/backoffice",
        id_=f"bo-void-mark-{o.id}-1",
        actor="admin:rina",
        minutes=25,
    )
    s.add(
        "pickup.cancel.decided",
        {
            "request_id": waiting["request_id"],
            "order_id": o.id,
            "decision": "approve",
            "reason": "no decision within 12 h",
            "requested_reason": waiting["requested_reason"],
            "decided_by": SLA,
            "decided_at": deadline,
            "voided_awb": "JNE-0101-7795",
            "requested_by": AUTO_SELLER_USER,
            "billing": {"invoice_no": o.invoice, "payment_nos": [o.payment]},
            "voided_by": "admin:rina",
            "void_note": note,
        },
        source="/svc/pickup",
        cause=mark,
    )
    _settled(s, o, str(waiting["request_id"]), mark)
    return s.messages
