"""Back-office queries over what the topics built: `lunas payment list` (seed 001, step 3: the
Active giros due by a day) and the read API's payment routes, with who may read what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.settings import Settings
from services.notify_svc.tokens import TokenKeys, issue_token
from services.payment_svc.bootstrap import build_spec
from services.readapi.app import create_app
from services.readapi.db import open_pool
from tests.integration.ops.helpers import lunas, lunas_json
from tests.integration.payment.helpers import (
    TENANT,
    issue,
    record,
    send_in_turn,
    simple,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

OTHER = "dist-test-02"
KEYS = TokenKeys.of("read-api-test-secret-0123456789abcdef")
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _giro(payment_no: str, amount: str, due: str, **kw: Any) -> dict[str, Any]:
    message = record(payment_no, amount, method="giro", **kw)
    message["data"]["giro"]["due_date"] = due
    return message


def _ledger(settings: Settings) -> None:
    """Two tenants: Active giros due on different days, a resolved one, a cash payment."""
    with running(build_spec(settings), settings):
        send_in_turn(
            settings,
            issue("INV-Q", "1000.00"),
            _giro("P-EARLY", "400.00", "2026-11-18", customer="CUST-7"),
            _giro("P-LATE", "300.00", "2026-11-30"),
            _giro("P-DONE", "200.00", "2026-11-10"),
            simple("payment.resolve", "P-DONE", resolved_date="2026-11-21"),
            record("P-CASH", "100.00", [("INV-Q", "100.00")], method="cash"),
            _giro("P-OTHER", "900.00", "2026-11-19", tenant=OTHER),
        )


def _token(user: str, tenant: str) -> dict[str, str]:
    token = issue_token(KEYS, tenant, user, timedelta(hours=1), NOW)
    return {"Authorization": f"Bearer {token}"}


def test_payment_list_and_the_read_api_return_what_the_state_holds(
    test_settings: Settings,
) -> None:
    _ledger(test_settings)
    seed_step_3 = ("--status", "active", "--method", "giro", "--due-before", "2026-11-21")
    listed = lunas_json(test_settings, "payment", "list", *seed_step_3)["payments"]
    assert [(p["tenant_id"], p["payment_no"]) for p in listed] == [
        (TENANT, "P-EARLY"),
        (OTHER, "P-OTHER"),
    ]
    assert listed[0]["giro"] == {"number": "BG-P-EARLY", "bank": "BRI", "due_date": "2026-11-18"}
    mine = lunas_json(test_settings, "payment", "list", "--tenant", TENANT, "--status", "active")
    assert [p["payment_no"] for p in mine["payments"]] == ["P-EARLY", "P-LATE"]
    cash = lunas_json(test_settings, "payment", "list", "--method", "cash")["payments"]
    assert [(p["payment_no"], p["allocated"]) for p in cash] == [("P-CASH", "100.00")]
    bad = lunas(test_settings, "payment", "list", "--status", "lost")
    assert bad.exit_code == 1 and "unknown status" in bad.output

    pool = open_pool(test_settings.database_dsn(), 2)
    try:
        app = create_app(pool, KEYS, lambda: NOW, {"payment": frozenset({"ani"})})
        with TestClient(app) as client:
            _read_api(client)
    finally:
        pool.close()


def _read_api(client: TestClient) -> None:
    everywhere = _token("admin:ani", "*")
    query = {"status": "active", "method": "giro", "due_before": "2026-11-21"}
    got = client.get("/v1/payments", params=query, headers=everywhere)
    assert got.status_code == 200
    assert [p["payment_no"] for p in got.json()["payments"]] == ["P-EARLY", "P-OTHER"]

    scoped = _token("admin:ani", TENANT)
    got = client.get("/v1/payments", params=query, headers=scoped)
    assert [p["payment_no"] for p in got.json()["payments"]] == ["P-EARLY"]
    assert client.get("/v1/payments", params={"tenant": OTHER}, headers=scoped).status_code == 403

    shown = client.get(f"/v1/payments/{TENANT}/P-DONE", headers=scoped)
    assert shown.status_code == 200
    body = shown.json()
    assert (body["status"], body["resolved_date"]) == ("completed", "2026-11-21")
    assert [h["to_status"] for h in body["history"]] == ["active", "completed"]
    assert body["customer_bounced_giros"] == 0
    assert client.get(f"/v1/payments/{OTHER}/P-OTHER", headers=scoped).status_code == 404
    assert client.get(f"/v1/payments/{TENANT}/P-NONE", headers=scoped).status_code == 404

    assert client.get("/v1/payments").status_code == 401
    seller = _token("user:seller-77", TENANT)
    assert client.get("/v1/payments", headers=seller).status_code == 403
    stranger = _token("admin:rina", TENANT)  # an admin, but not a payment admin
    assert client.get("/v1/payments", headers=stranger).status_code == 403
    bad = client.get("/v1/payments", params={"status": "lost"}, headers=everywhere)
    assert bad.status_code == 422
