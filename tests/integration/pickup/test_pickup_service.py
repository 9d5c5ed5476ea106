"""pickup_svc over a real broker and Postgres: seed 002's approve and reject paths, and refusals."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from schemas import derive_id, topics
from services.common.settings import Settings
from services.pickup_svc.adapters.verify import check_invariants, state_digest
from services.pickup_svc.bootstrap import build_spec
from tests.integration.pickup.helpers import (
    SELLER,
    Watcher,
    arrange,
    cancel,
    decide,
    send,
    status,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

ORDER = "ORD-2024-000871"
INVOICE = "INV-ORD-2024-000871"
PAYMENTS = ["PAY-2024-003310", "PAY-2024-003311"]


def _rows(dsn: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query.encode(), params).fetchall()


def _order_state(dsn: str, order: str) -> str:
    return str(_rows(dsn, "SELECT state FROM pickup.orders WHERE order_id = %s", order)[0][0])


def _sound(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return check_invariants(conn)


def _digest(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return state_digest(conn)


def _arranged(settings: Settings, watcher: Watcher, **kwargs: Any) -> str:
    """Arrange ORDER's pickup and request its cancellation; the pending request's id."""
    send(settings, topics.PICKUP_COMMANDS, arrange(ORDER, **kwargs))
    (arranged,) = watcher.wait("pickup.arranged", topics.PICKUP_EVENTS, order_id=ORDER)
    send(settings, topics.PICKUP_CANCEL_REQUESTED, cancel(ORDER))
    watcher.wait("pickup.cancel.pending", topics.PICKUP_EVENTS, order_id=ORDER)
    return str(arranged.data["awb"])


def test_approval_voids_the_bill_asks_payment_svc_once_and_a_new_bill_follows(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn = test_settings.database_dsn()
    with running(build_spec(test_settings), test_settings):
        awb = _arranged(test_settings, watcher, invoice_no=INVOICE, payment_nos=PAYMENTS)
        (pending,) = watcher.matching("pickup.cancel.pending")
        assert pending.data["requested_by"] == SELLER
        assert pending.data["reason"] == "Pembeli minta ganti alamat pengiriman."
        assert _order_state(dsn, ORDER) == "cancel_pending"

        approve = decide(ORDER, "approve", "Alamat baru sudah diverifikasi.")
        send(test_settings, topics.PICKUP_COMMANDS, approve)
        (decided,) = watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED)
        request_id = pending.data["request_id"]
        assert decided.data == {
            "request_id": request_id,
            "order_id": ORDER,
            "decision": "approve",
            "reason": "Alamat baru sudah diverifikasi.",
            "requested_reason": "Pembeli minta ganti alamat pengiriman.",
            "requested_by": SELLER,
            "decided_by": "admin:admin-1",
            "decided_at": decided.data["decided_at"],
            "voided_awb": awb,
            # What payment_svc is asked to undo: the order's invoice and the payments it used.
            "billing": {"invoice_no": INVOICE, "payment_nos": PAYMENTS},
        }
        (void,) = watcher.wait("invoice.void", topics.PAYMENT_COMMANDS)
        releases = watcher.wait("payment.release", topics.PAYMENT_COMMANDS, count=2)
        assert void.message["subject"] == INVOICE
        assert void.message["id"] == derive_id(request_id, f"invoice.void:{INVOICE}")
        assert {r.message["subject"]: r.message["id"] for r in releases} == {
            p: derive_id(request_id, f"payment.release:{p}:{INVOICE}") for p in PAYMENTS
        }
        for derived in (void, *releases):
            assert derived.message["actor"] == "system:pickup"
            assert derived.message["causationid"] == approve["id"]
            assert derived.data["invoice_no"] == INVOICE

        # The admin's click arrives twice: no second decision, no new payment commands. The
        # forbidden decide after it shares the partition, so its rejection proves both were read.
        intruder = decide(ORDER, "reject", "no", actor="admin:intruder")
        send(test_settings, topics.PICKUP_COMMANDS, approve, intruder)
        watcher.wait("command.rejected", topics.PICKUP_EVENTS, command_id=intruder["id"])
        assert len({s.message["id"] for s in watcher.matching("pickup.cancel.decided")}) == 1
        derived_ids = {s.message["id"] for s in watcher.seen if s.topic == topics.PAYMENT_COMMANDS}
        assert derived_ids == {void.message["id"], *(r.message["id"] for r in releases)}

        # "Atur Pengiriman" again: a new bill that names the voided one.
        send(test_settings, topics.PICKUP_COMMANDS, arrange(ORDER))
        arranged = watcher.wait("pickup.arranged", order_id=ORDER, count=2)
        assert arranged[1].data["previous_awb"] == awb
        assert arranged[1].data["awb"] != awb

    bills = _rows(dsn, "SELECT awb, status FROM pickup.airway_bills ORDER BY seq")
    assert bills == [(awb, "voided"), (arranged[1].data["awb"], "assigned")]
    assert _order_state(dsn, ORDER) == "pickup_requested"
    assert _sound(dsn) == []


def test_rejection_keeps_the_bill_and_the_seller_may_ask_again(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn = test_settings.database_dsn()
    reason = "Kurir sudah dalam perjalanan ke lokasi penjemputan."
    with running(build_spec(test_settings), test_settings):
        awb = _arranged(test_settings, watcher, invoice_no=INVOICE, payment_nos=PAYMENTS[:1])
        send(test_settings, topics.PICKUP_COMMANDS, decide(ORDER, "reject", reason))
        (decided,) = watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED)
        assert decided.data["decision"] == "reject"
        assert decided.data["reason"] == reason
        assert "voided_awb" not in decided.data
        assert _order_state(dsn, ORDER) == "pickup_requested"

        send(test_settings, topics.PICKUP_CANCEL_REQUESTED, cancel(ORDER, "Stok habis."))
        pending = watcher.wait("pickup.cancel.pending", order_id=ORDER, count=2)
        assert pending[1].data["reason"] == "Stok habis."
        assert pending[1].data["request_id"] != pending[0].data["request_id"]

    assert not [s for s in watcher.seen if s.topic == topics.PAYMENT_COMMANDS]
    assert _rows(dsn, "SELECT awb, status FROM pickup.airway_bills") == [(awb, "assigned")]
    assert _rows(dsn, "SELECT decision FROM pickup.cancel_requests ORDER BY seq") == [
        ("reject",),
        (None,),
    ]
    assert _sound(dsn) == []


def test_refusals_change_nothing_and_a_status_for_a_voided_bill_is_ignored(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn = test_settings.database_dsn()
    with running(build_spec(test_settings), test_settings):
        awb = _arranged(test_settings, watcher)
        before = _digest(dsn)
        seller_decides = decide(ORDER, "approve", actor=SELLER)
        stranger_decides = decide(ORDER, "approve", actor="admin:admin-9")
        send(test_settings, topics.PICKUP_COMMANDS, seller_decides, stranger_decides)
        for refused in (seller_decides, stranger_decides):
            (rejection,) = watcher.wait(
                "command.rejected", topics.PICKUP_EVENTS, command_id=refused["id"]
            )
            assert rejection.data["code"] == "forbidden"
        assert _digest(dsn) == before
        assert not watcher.matching("pickup.cancel.decided")

        # The courier takes the parcel: the open request is closed, and no new one is accepted.
        send(test_settings, topics.PICKUP_COMMANDS, status(ORDER, awb, "picked_up"))
        watcher.wait("pickup.status.updated", topics.PICKUP_EVENTS, status="picked_up")
        (closed,) = watcher.wait("pickup.cancel.decided", decision="reject")
        assert closed.data["decided_by"] == "system:courier"
        late = cancel(ORDER)
        send(test_settings, topics.PICKUP_CANCEL_REQUESTED, late)
        (rejection,) = watcher.wait("command.rejected", command_id=late["id"])
        assert rejection.data["code"] == "invalid_state"
        assert "picked up" in rejection.data["message"]

        # Another order: cancelled, then the courier reports on the voided bill.
        other = "ORD-2024-000872"
        send(test_settings, topics.PICKUP_COMMANDS, arrange(other))
        (arranged,) = watcher.wait("pickup.arranged", order_id=other)
        send(test_settings, topics.PICKUP_CANCEL_REQUESTED, cancel(other))
        watcher.wait("pickup.cancel.pending", order_id=other)
        send(test_settings, topics.PICKUP_COMMANDS, decide(other, "approve"))
        watcher.wait("pickup.cancel.decided", order_id=other)
        voided = arranged.data["awb"]
        after_cancel = _digest(dsn)
        stale = status(other, voided, "picked_up")
        marker = decide(other, "approve", actor=SELLER)  # same partition, read after `stale`
        send(test_settings, topics.PICKUP_COMMANDS, stale, marker)
        watcher.wait("command.rejected", command_id=marker["id"])

    assert not watcher.matching("command.rejected", command_id=stale["id"])
    assert not watcher.matching("pickup.status.updated", order_id=other)
    assert _digest(dsn) == after_cancel
    assert _order_state(dsn, other) == "pickup_cancelled"
    assert _order_state(dsn, ORDER) == "picked_up"
    assert _sound(dsn) == []
