"""Four eyes through the topics: whoever recorded a payment cannot confirm it; another admin can,
and the refused attempt changes nothing."""

from __future__ import annotations

import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    digest,
    issue,
    record,
    send_in_turn,
    simple,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration


def test_the_recorder_cannot_confirm_their_own_payment(test_settings: Settings) -> None:
    dsn = test_settings.database_dsn()
    collected = record("P-SFA-1", "400.00", [("INV-1", "400.00")])
    collected["data"]["channel"] = "sfa"  # entered in the field: Pending until confirmed
    collected["actor"] = "admin:siti"
    own = simple("payment.confirm", "P-SFA-1") | {"actor": "admin:siti"}
    other = simple("payment.confirm", "P-SFA-1") | {"actor": "admin:budi"}
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        send_in_turn(test_settings, issue("INV-1", "400.00"), collected)
        watcher.wait("payment.recorded", topics.PAYMENT_EVENTS)
        before = digest(dsn)
        send_in_turn(test_settings, own)
        watcher.wait("command.rejected", topics.PAYMENT_EVENTS)
        assert digest(dsn) == before
        send_in_turn(test_settings, other)
        confirmed = watcher.wait("payment.confirmed", topics.PAYMENT_EVENTS)

    [refusal] = watcher.matching("command.rejected")
    assert refusal.data["code"] == "forbidden"
    assert "four eyes" in refusal.data["message"]
    assert refusal.message["actor"] == "admin:siti"  # the refusal is addressed to its sender
    assert confirmed[0].data["status"] == "completed"
    assert confirmed[0].message["actor"] == "admin:budi"
