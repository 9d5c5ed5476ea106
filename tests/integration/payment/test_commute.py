"""``invoice.void`` and ``payment.release`` for one order commute and are idempotent: in either
order, with duplicates under new ids, or all at once on different partitions, one final state."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    invoice,
    issue,
    payment,
    record,
    release,
    send,
    send_in_turn,
    violations,
    void,
    wait_settled,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

ORDER = "ORD-2024-000871"
ORDER_INVOICE = "INV-ORD-2024-000871"
OTHER_INVOICE = "INV-2024-000870"
PAYMENTS = ("PAY-2024-003310", "PAY-2024-003311")
# Each tenant gets the same books and the same cancellation, delivered differently.
VOID_FIRST, RELEASE_FIRST, AT_ONCE = "seller-void-first", "seller-release-first", "seller-at-once"


def _books(tenant: str) -> list[dict[str, Any]]:
    return [
        issue(ORDER_INVOICE, "185000.00", order_id=ORDER, tenant=tenant),
        issue(OTHER_INVOICE, "90000.00", tenant=tenant),
        record(
            PAYMENTS[0],
            "150000.00",
            [(ORDER_INVOICE, "100000.00"), (OTHER_INVOICE, "50000.00")],
            tenant=tenant,
        ),
        record(
            PAYMENTS[1], "85000.00", [(ORDER_INVOICE, "85000.00")], method="giro", tenant=tenant
        ),
    ]


def _cancellation(tenant: str, *, voids: int, releases: int) -> tuple[list[dict[str, Any]], ...]:
    """Voids of the order's invoice and releases of its payments, each under fresh ids."""
    void_cmds = [void(ORDER_INVOICE, order_id=ORDER, tenant=tenant) for _ in range(voids)]
    release_cmds = [
        release(p, ORDER_INVOICE, order_id=ORDER, tenant=tenant)
        for _ in range(releases)
        for p in PAYMENTS
    ]
    return void_cmds, release_cmds


def _state(dsn: str, tenant: str) -> dict[str, Any]:
    """What the back office sees of the tenant's books, without who/when of the history."""
    drop = {"tenant_id", "history", "allocation_history", "voided_at", "issued_by", "recorded_by"}
    views = [invoice(dsn, i, tenant) for i in (ORDER_INVOICE, OTHER_INVOICE)]
    views += [payment(dsn, p, tenant) for p in PAYMENTS]
    return {
        view.get("invoice_no") or view["payment_no"]: {
            k: v for k, v in view.items() if k not in drop
        }
        for view in views
    }


def test_void_and_release_commute_whatever_the_order_and_duplicates(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        books = [c for tenant in (VOID_FIRST, RELEASE_FIRST, AT_ONCE) for c in _books(tenant)]
        send_in_turn(test_settings, *books)
        voids, releases = _cancellation(VOID_FIRST, voids=2, releases=2)
        send_in_turn(test_settings, *voids, *releases)
        voids, releases = _cancellation(RELEASE_FIRST, voids=2, releases=2)
        send_in_turn(test_settings, *releases, *voids)
        voids, releases = _cancellation(AT_ONCE, voids=3, releases=3)
        # All at once, interleaved, and each void also redelivered with its same id.
        send(test_settings, *[c for pair in zip(releases, voids * 2, strict=True) for c in pair])
        wait_settled(dsn, len(books) + 6 + 6 + len(voids) + len(releases))
        watcher.wait("invoice.voided", count=3)
        watcher.wait("payment.released", count=6)
        watcher.poll(2)  # anything emitted twice would be in the outbox by now

    final = _state(dsn, VOID_FIRST)
    assert _state(dsn, RELEASE_FIRST) == final
    assert _state(dsn, AT_ONCE) == final
    assert (final[ORDER_INVOICE]["status"], final[ORDER_INVOICE]["outstanding"]) == (
        "void",
        "185000.00",
    )
    assert final[ORDER_INVOICE]["allocations"] == []
    # "Telah digunakan" → "Belum digunakan" for what the order used; the rest stays used.
    assert (final[PAYMENTS[0]]["usage"], final[PAYMENTS[0]]["allocations"]) == (
        "partially_used",
        [{"invoice_no": OTHER_INVOICE, "amount": "50000.00", "invoice_status": "partially_paid"}],
    )
    assert (final[PAYMENTS[1]]["usage"], final[PAYMENTS[1]]["status"]) == ("unused", "active")
    assert violations(dsn) == []
    for tenant in (VOID_FIRST, RELEASE_FIRST, AT_ONCE):
        mine = [s for s in watcher.seen if s.message["tenantid"] == tenant]
        # One effect, one event: a single void and a single release per payment, however asked.
        assert sorted(s.type for s in mine if s.type in ("invoice.voided", "payment.released")) == [
            "invoice.voided",
            "payment.released",
            "payment.released",
        ], tenant
        assert [s for s in mine if s.type == "command.rejected"] == [], tenant
