"""Four eyes on large cancellations through the topics: at or above the tenant's approval amount a
cancel waits for a second admin; the same admin deciding is `forbidden`; approval cancels (invoice
owed again), rejection leaves it Completed; the history shows both admins."""

from __future__ import annotations

import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    TENANT,
    digest,
    invoice,
    issue,
    payment,
    record,
    send_in_turn,
    simple,
    violations,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration


def _with_four_eyes(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"payment_cancel_approval_amount_by_tenant": f"{TENANT}=5000000.00"}
    )


def test_a_large_cancellation_needs_a_second_admin(test_settings: Settings) -> None:
    settings = _with_four_eyes(test_settings)
    dsn = settings.database_dsn()
    ask = simple("payment.cancel", "P-BIG", reason_code="input_error", reason="double entry")
    ask["actor"] = "admin:ani"
    own = simple("payment.cancel.approve", "P-BIG") | {"actor": "admin:ani"}
    other = simple("payment.cancel.approve", "P-BIG", reason="checked") | {"actor": "admin:budi"}
    with watching(settings) as watcher, running(build_spec(settings), settings):
        send_in_turn(
            settings,
            issue("INV-BIG", "5000000.00"),
            record("P-BIG", "5000000.00", [("INV-BIG", "5000000.00")]),
            ask,
        )
        [requested] = watcher.wait("payment.cancel.requested", topics.PAYMENT_EVENTS)
        assert invoice(dsn, "INV-BIG")["status"] == "paid"  # nothing moved while it waits
        before = digest(dsn)
        send_in_turn(settings, own)
        [refusal] = watcher.wait("command.rejected", topics.PAYMENT_EVENTS)
        assert digest(dsn) == before
        send_in_turn(settings, other)
        [cancelled] = watcher.wait("payment.cancelled", topics.PAYMENT_EVENTS)

    assert requested.data["status"] == "cancel_requested"
    assert requested.data["requested_by"] == "admin:ani"
    assert requested.data["approval_amount"] == "5000000.00"
    assert (refusal.data["code"], refusal.message["actor"]) == ("forbidden", "admin:ani")
    assert "four eyes" in refusal.data["message"]
    assert cancelled.message["actor"] == "admin:budi"
    assert cancelled.data["requested_by"] == "admin:ani"
    assert cancelled.data["released"] == [{"invoice_no": "INV-BIG", "amount": "5000000.00"}]
    owed = invoice(dsn, "INV-BIG")
    assert (owed["status"], owed["outstanding"]) == ("unpaid", "5000000.00")
    view = payment(dsn, "P-BIG")
    moves = [(h["from_status"], h["to_status"], h["actor"]) for h in view["history"]]
    assert moves[-2:] == [
        ("completed", "cancel_requested", "admin:ani"),
        ("cancel_requested", "cancelled", "admin:budi"),
    ]
    assert violations(dsn) == []


def test_a_rejected_cancellation_leaves_the_payment_completed_and_small_ones_are_direct(
    test_settings: Settings,
) -> None:
    settings = _with_four_eyes(test_settings)
    dsn = settings.database_dsn()
    ask = simple("payment.cancel", "P-BIG", reason="customer says paid twice")
    reject = simple("payment.cancel.reject", "P-BIG", reason="bank statement shows one payment")
    small = simple("payment.cancel", "P-SMALL", reason="typo")
    with watching(settings) as watcher, running(build_spec(settings), settings):
        send_in_turn(
            settings,
            issue("INV-BIG", "7000000.00"),
            record("P-BIG", "7000000.00", [("INV-BIG", "7000000.00")]),
            ask | {"actor": "admin:ani"},
            reject | {"actor": "admin:siti"},
            record("P-SMALL", "4999999.99"),
            small | {"actor": "admin:ani"},
        )
        [rejected] = watcher.wait("payment.cancel.rejected", topics.PAYMENT_EVENTS)
        watcher.wait("payment.cancelled", topics.PAYMENT_EVENTS, payment_no="P-SMALL")

    assert rejected.message["actor"] == "admin:siti"
    assert rejected.data["requested_by"] == "admin:ani"
    assert rejected.data["requested_reason"] == "customer says paid twice"
    view = payment(dsn, "P-BIG")
    assert (view["status"], view["cancel_requested_by"]) == ("completed", None)
    assert [h["to_status"] for h in view["history"]] == [
        "completed",
        "cancel_requested",
        "completed",
    ]
    assert invoice(dsn, "INV-BIG")["status"] == "paid"
    assert payment(dsn, "P-SMALL")["status"] == "cancelled"
    assert watcher.matching("payment.cancel.requested", payment_no="P-SMALL") == []
    assert violations(dsn) == []
