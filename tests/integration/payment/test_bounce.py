"""A bounced Giro through the topics: its own status, allocations reversed, the invoice owed
again, the bank charge kept, and the customer's bounced count shown by `lunas payment show`."""

from __future__ import annotations

import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.ops.helpers import lunas, lunas_json
from tests.integration.payment.helpers import (
    TENANT,
    invoice,
    issue,
    record,
    send_in_turn,
    simple,
    violations,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration


def test_a_bounce_restores_the_invoice_and_counts_against_the_customer(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    bounce = simple(
        "payment.bounce",
        "P-G1",
        reason="dana tidak cukup",
        bank_charge="25000.00",
        bounced_date="2026-11-21",
    )
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        send_in_turn(
            test_settings,
            issue("INV-G", "1000.00"),
            record("P-G1", "600.00", [("INV-G", "600.00")], method="giro"),
            record("P-G2", "400.00", [("INV-G", "400.00")], method="giro"),
        )
        assert invoice(dsn, "INV-G")["status"] == "in_payment"
        send_in_turn(test_settings, bounce)
        [bounced] = watcher.wait("payment.bounced", topics.PAYMENT_EVENTS)
        send_in_turn(test_settings, simple("payment.bounce", "P-G1", reason="again"))
        [refusal] = watcher.wait("command.rejected", topics.PAYMENT_EVENTS)

    assert bounced.data["status"] == "bounced"
    assert bounced.data["bank_charge"] == "25000.00"
    assert bounced.data["released"] == [{"invoice_no": "INV-G", "amount": "600.00"}]
    assert bounced.data["giro"]["number"] == "BG-P-G1"
    assert refusal.data["code"] == "invalid_state"
    owed = invoice(dsn, "INV-G")
    assert (owed["status"], owed["outstanding"]) == ("partially_paid", "600.00")
    shown = lunas_json(test_settings, "payment", "show", "--tenant", TENANT, "P-G1")
    assert (shown["status"], shown["bank_charge"], shown["bounced_date"]) == (
        "bounced",
        "25000.00",
        "2026-11-21",
    )
    assert shown["cancel_reason_code"] == "giro_bounced"
    assert shown["allocations"] == []
    assert shown["history"][-1]["to_status"] == "bounced"
    assert shown["customer_bounced_giros"] == 1
    other = lunas_json(test_settings, "payment", "show", "--tenant", TENANT, "P-G2")
    assert other["customer_bounced_giros"] == 1  # per customer, seen from any of its payments
    text = lunas(test_settings, "payment", "show", "--tenant", TENANT, "P-G1")
    assert text.exit_code == 0 and "customer's bounced giros: 1" in text.stdout
    assert violations(dsn) == []
