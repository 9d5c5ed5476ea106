"""A courier void that fails, through the topics: the order stays void_failed, re-arranging is
refused, payment_svc is asked nothing until the bill is really void (an admin's retry, or a
void marked by hand)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from schemas import topics
from services.common.settings import Settings
from services.pickup_svc.bootstrap import build_spec
from services.pickup_svc.courier import LocalCourierGateway
from tests.integration.pickup.helpers import (
    SELLER,
    Watcher,
    arrange,
    cancel,
    command,
    decide,
    send_each,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

ORDER = "ORD-2024-000995"
INVOICE = "INV-ORD-2024-000995"
PAYMENT = "PAY-2024-009951"
ANSWER = "JNE: resi sudah masuk manifest, tidak dapat dibatalkan"


def _void(type_: str, order: str, *, actor: str, **data: Any) -> dict[str, Any]:
    return command(type_, order, {"order_id": order, **data}, actor=actor, source="/backoffice")


def _state(dsn: str, order: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT state FROM pickup.orders WHERE order_id = %s", (order,))
        return str(row.fetchone()[0])  # type: ignore[index]


def _failed_approval(settings: Settings, watcher: Watcher, gateway: LocalCourierGateway) -> str:
    send_each(settings, arrange(ORDER, invoice_no=INVOICE, payment_nos=[PAYMENT]))
    (arranged,) = watcher.wait("pickup.arranged", order_id=ORDER)
    awb = str(arranged.data["awb"])
    gateway.fail_voids(awb, ANSWER)
    send_each(settings, cancel(ORDER))
    watcher.wait("pickup.cancel.pending", order_id=ORDER)
    send_each(settings, decide(ORDER, "approve", "Alamat salah."))
    return awb


def test_a_failed_void_blocks_until_an_admin_retries_it_successfully(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn, gateway = test_settings.database_dsn(), LocalCourierGateway()
    with running(build_spec(test_settings, courier=gateway), test_settings):
        awb = _failed_approval(test_settings, watcher, gateway)
        (failed,) = watcher.wait("pickup.void.failed", topics.PICKUP_EVENTS)
        assert _state(dsn, ORDER) == "void_failed"

        send_each(test_settings, arrange(ORDER))  # re-arranging is blocked
        (refused,) = watcher.wait("command.rejected", topics.PICKUP_EVENTS)
        send_each(test_settings, _void("pickup.void.retry", ORDER, actor=SELLER))
        watcher.wait("command.rejected", count=2)
        send_each(test_settings, _void("pickup.void.retry", ORDER, actor="admin:admin-2"))
        (_, again) = watcher.wait("pickup.void.failed", count=2)
        # Nothing was asked of payment_svc while the bill was not void.
        assert not watcher.matching("invoice.void") and not watcher.matching("payment.release")
        assert not watcher.matching("pickup.cancel.decided")

        gateway.heal_voids(awb)
        send_each(test_settings, _void("pickup.void.retry", ORDER, actor="admin:admin-2"))
        (decided,) = watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED)
        watcher.wait("invoice.void", topics.PAYMENT_COMMANDS, invoice_no=INVOICE)
        watcher.wait("payment.release", topics.PAYMENT_COMMANDS, payment_no=PAYMENT)
        send_each(test_settings, arrange(ORDER))
        (_, new) = watcher.wait("pickup.arranged", count=2, order_id=ORDER)

    assert failed.data["answer"] == ANSWER and failed.data["awb"] == awb
    assert (failed.data["attempts"], again.data["attempts"]) == (1, 2)
    assert failed.data["approved_by"] == "admin:admin-1"
    assert failed.data["requested_by"] == SELLER
    assert refused.data["code"] == "invalid_state" and awb in refused.data["message"]
    forbidden = watcher.matching("command.rejected")[1]
    assert forbidden.data["code"] == "forbidden"
    assert decided.data["decided_by"] == "admin:admin-1"
    assert decided.data["voided_by"] == "admin:admin-2"
    assert decided.data["voided_awb"] == awb
    assert new.data["previous_awb"] == awb


def test_a_void_marked_by_hand_releases_and_a_second_mark_is_refused(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn, gateway = test_settings.database_dsn(), LocalCourierGateway()
    with running(build_spec(test_settings, courier=gateway), test_settings):
        awb = _failed_approval(test_settings, watcher, gateway)
        watcher.wait("pickup.void.failed")
        note = "Dibatalkan lewat telepon ke JNE, tiket 4471"
        mark = _void("pickup.void.mark", ORDER, actor="admin:admin-2", reason=note)
        send_each(test_settings, mark)
        (decided,) = watcher.wait("pickup.cancel.decided")
        watcher.wait("invoice.void", invoice_no=INVOICE)
        send_each(
            test_settings, _void("pickup.void.mark", ORDER, actor="admin:admin-2", reason="x")
        )
        (refused,) = watcher.wait("command.rejected")
        assert _state(dsn, ORDER) == "pickup_cancelled"
    assert decided.data["void_note"] == note and decided.data["voided_awb"] == awb
    assert refused.data["code"] == "invalid_state"
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT status FROM pickup.airway_bills WHERE awb = %s", (awb,)
        ).fetchone()
    assert row == ("voided",)
