"""Refused commands arrive as ``command.rejected`` with a reason a back-office user understands,
and change nothing: the payment tables' digest is the same before and after them."""

from __future__ import annotations

import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    allocate,
    digest,
    invoice,
    issue,
    payment,
    record,
    send_in_turn,
    simple,
    void,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

OTHER_TENANT = "dist-other-02"


def test_refusals_name_the_problem_and_touch_nothing(test_settings: Settings) -> None:
    dsn = test_settings.database_dsn()
    refused = {
        "resolve-completed": simple("payment.resolve", "P-1", resolved_date="2026-11-21"),
        "over-invoice": record("P-2", "700.00", [("INV-2", "500.00")]),
        "over-credit": allocate("P-1", [("INV-2", "250.00")]),
        "other-tenant-cancel": simple("payment.cancel", "P-1") | {"tenantid": OTHER_TENANT},
        "other-tenant-void": void("INV-1") | {"tenantid": OTHER_TENANT},
        "recorded-twice": record("P-1", "600.00"),
        # Who may do what: each of these is refused before anything is looked up.
        "anyone-cancels": simple("payment.cancel", "P-1") | {"actor": "user:anyone"},
        "stranger-admin-cancels": simple("payment.cancel", "P-1") | {"actor": "admin:stranger"},
        "seller-voids": void("INV-1") | {"actor": "user:seller-1"},
        "pickup-voids-without-order": void("INV-2") | {"actor": "system:pickup"},
        "seller-resolves": simple("payment.resolve", "P-1", resolved_date="2026-11-21")
        | {"actor": "user:seller-1"},
    }
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        send_in_turn(
            test_settings,
            issue("INV-1", "1000.00"),
            issue("INV-2", "300.00"),
            record("P-1", "800.00", [("INV-1", "600.00")]),
        )
        before = digest(dsn)
        send_in_turn(test_settings, *refused.values())
        watcher.wait("command.rejected", topics.PAYMENT_EVENTS, count=len(refused))
        after = digest(dsn)

    assert after == before
    by_command = {s.data["command_id"]: s for s in watcher.matching("command.rejected")}
    got = {name: by_command[cmd["id"]] for name, cmd in refused.items()}
    assert {name: seen.data["code"] for name, seen in got.items()} == {
        "resolve-completed": "invalid_state",
        "over-invoice": "over_allocation",
        "over-credit": "over_allocation",
        "other-tenant-cancel": "not_found",
        "other-tenant-void": "not_found",
        "recorded-twice": "conflict",
        "anyone-cancels": "forbidden",
        "stranger-admin-cancels": "forbidden",
        "seller-voids": "forbidden",
        "pickup-voids-without-order": "forbidden",
        "seller-resolves": "forbidden",
    }
    assert got["anyone-cancels"].data["message"] == (
        "user:anyone may not cancel payments; only a payment admin may"
    )
    assert got["resolve-completed"].data["message"] == (
        "payment P-1 is Completed; only Active payments can be resolved"
    )
    assert got["over-invoice"].data["message"] == (
        "allocating 500.00 to invoice INV-2 exceeds its outstanding 300.00"
    )
    assert got["over-credit"].data["message"] == (
        "allocations total 250.00 but payment P-1 has only 200.00 unallocated"
    )
    # The other tenant learns nothing beyond "not found", in its own stream of the topic.
    assert got["other-tenant-cancel"].data["message"] == "payment P-1 not found"
    assert got["other-tenant-cancel"].message["tenantid"] == OTHER_TENANT
    # Only the setup produced events; every refusal produced exactly its rejection.
    assert sorted(s.type for s in watcher.seen if s.type != "command.rejected") == [
        "invoice.issued",
        "invoice.issued",
        "payment.recorded",
    ]
    assert payment(dsn, "P-1")["status"] == "completed"
    assert (invoice(dsn, "INV-1")["outstanding"], invoice(dsn, "INV-2")["outstanding"]) == (
        "400.00",
        "300.00",
    )
