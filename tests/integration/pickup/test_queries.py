"""The back office's pickup queries return what the state holds: `lunas pickup show|list` and
the read API's pickup routes, over state the running service built from the topics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from services.common.settings import Settings
from services.notify_svc.tokens import TokenKeys, issue_token
from services.ops.cli import app as cli
from services.pickup_svc.bootstrap import build_spec
from services.pickup_svc.courier import LocalCourierGateway
from services.readapi.app import create_app
from tests.integration.pickup.helpers import (
    TENANT,
    Watcher,
    arrange,
    cancel,
    decide,
    send_each,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

SECRET = "s" * 40


def _state(settings: Settings, watcher: Watcher) -> str:
    """ORD-P pending, ORD-F void_failed (the courier refused), ORD-OTHER pending elsewhere."""
    gateway = LocalCourierGateway()
    with running(build_spec(settings, courier=gateway), settings):
        send_each(settings, arrange("ORD-P"), arrange("ORD-F"))
        send_each(settings, {**arrange("ORD-OTHER"), "tenantid": "seller-88"})
        arranged = watcher.wait("pickup.arranged", count=3)
        failing = next(a for a in arranged if a.data["order_id"] == "ORD-F")
        gateway.fail_voids(str(failing.data["awb"]), "JNE: manifest closed")
        send_each(settings, cancel("ORD-P"), cancel("ORD-F"))
        send_each(settings, {**cancel("ORD-OTHER"), "tenantid": "seller-88"})
        watcher.wait("pickup.cancel.pending", count=3)
        send_each(settings, decide("ORD-F", "approve"))
        watcher.wait("pickup.void.failed", order_id="ORD-F")
    return str(failing.data["awb"])


def test_the_cli_and_the_read_routes_show_what_the_state_holds(
    test_settings: Settings, watcher: Watcher
) -> None:
    awb = _state(test_settings, watcher)
    dsn = test_settings.database_dsn()
    env = {"LUNAS_DATABASE_URL": dsn}
    runner = CliRunner()

    shown = runner.invoke(cli, ["pickup", "show", "ORD-F", "--tenant", TENANT, "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.output)
    assert view["state"] == "void_failed"
    assert [b["awb"] for b in view["airway_bills"]] == [awb]
    (request,) = view["cancel_requests"]
    assert (request["decision"], request["void_error"], request["void_attempts"]) == (
        "approve",
        "JNE: manifest closed",
        1,
    )
    whats = [h["what"] for h in view["history"]]
    assert whats[0] == "airway bill assigned" and "cancellation requested" in whats
    assert "cancellation approved" in whats and any("void failed" in w for w in whats)

    listed = runner.invoke(cli, ["pickup", "list", "--status", "cancel_pending", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    pending = json.loads(listed.output)["orders"]
    assert sorted((o["tenant_id"], o["order_id"]) for o in pending) == [
        ("seller-77", "ORD-P"),
        ("seller-88", "ORD-OTHER"),
    ]
    one = runner.invoke(
        cli,
        ["pickup", "list", "--status", "cancel_pending", "--tenant", "seller-88", "--json"],
        env=env,
    )
    assert [o["order_id"] for o in json.loads(one.output)["orders"]] == ["ORD-OTHER"]
    missing = runner.invoke(cli, ["pickup", "show", "ORD-P", "--tenant", "seller-88"], env=env)
    assert missing.exit_code == 1

    with _client(dsn) as client:
        admin = _token("admin:admin-1")
        got = client.get("/v1/pickup/orders/ORD-F", headers=admin)
        assert got.status_code == 200 and got.json() == view
        listed_api = client.get("/v1/pickup/orders?status=cancel_pending", headers=admin).json()
        assert [o["order_id"] for o in listed_api["orders"]] == ["ORD-P"]  # its tenant only
        assert client.get("/v1/pickup/orders/ORD-OTHER", headers=admin).status_code == 404
        seller = _token("user:seller-77")
        assert client.get("/v1/pickup/orders/ORD-F", headers=seller).status_code == 403
        assert client.get("/v1/pickup/orders/ORD-F").status_code == 401
        bad = client.get("/v1/pickup/orders?status=nonsense", headers=admin)
        assert bad.status_code == 422


NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _token(user: str) -> dict[str, str]:
    token = issue_token(TokenKeys.of(SECRET), TENANT, user, timedelta(hours=1), NOW)
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def _client(dsn: str) -> Iterator[TestClient]:
    """The read API app itself, as ``lunas serve read-api`` builds it."""
    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        app = create_app(
            pool, TokenKeys.of(SECRET), lambda: NOW, {"pickup": frozenset({"admin-1"})}
        )
        with TestClient(app) as client:
            yield client
