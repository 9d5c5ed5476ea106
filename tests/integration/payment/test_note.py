"""``payment.note`` through the topics: a payment admin's note becomes ``payment.noted`` and an
entry of the payment's history that ``lunas payment show`` prints; anyone else's is refused."""

from __future__ import annotations

import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.ops.helpers import lunas, lunas_json
from tests.integration.payment.helpers import (
    TENANT,
    digest,
    issue,
    record,
    send_in_turn,
    simple,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

NOTE = "Pelanggan akan transfer ulang 2023-08-30"


def test_an_admins_note_is_kept_in_the_history_and_shown(test_settings: Settings) -> None:
    dsn = test_settings.database_dsn()
    stranger = simple("payment.note", "P-N1", note="hello") | {"actor": "user:sales-17"}
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        send_in_turn(test_settings, issue("INV-N1", "400.00"))
        send_in_turn(test_settings, record("P-N1", "400.00", [("INV-N1", "400.00")]))
        watcher.wait("payment.recorded", topics.PAYMENT_EVENTS)
        before = digest(dsn)
        send_in_turn(test_settings, stranger)
        watcher.wait("command.rejected", topics.PAYMENT_EVENTS)
        assert digest(dsn) == before
        send_in_turn(test_settings, simple("payment.note", "P-N1", note=NOTE))
        (noted,) = watcher.wait("payment.noted", topics.PAYMENT_EVENTS)

    [refusal] = watcher.matching("command.rejected")
    assert refusal.data["code"] == "forbidden"
    assert (noted.data["note"], noted.data["status"]) == (NOTE, "completed")
    assert noted.data["noted_by"] == "admin:ani"

    view = lunas_json(test_settings, "payment", "show", "--tenant", TENANT, "P-N1")
    last = view["history"][-1]
    assert (last["from_status"], last["to_status"], last["reason_code"], last["reason"]) == (
        "completed",
        "completed",
        "note",
        NOTE,
    )
    assert view["status"] == "completed"
    shown = lunas(test_settings, "payment", "show", "--tenant", TENANT, "P-N1")
    assert shown.exit_code == 0 and NOTE in shown.output
