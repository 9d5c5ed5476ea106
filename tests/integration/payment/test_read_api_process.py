"""`lunas serve read-api` as a process: it answers a payment admin's token over loopback and
stops cleanly (exit 0) on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.common.devstack import free_port
from services.common.migrations import migrate
from services.common.settings import Settings
from services.notify_svc.tokens import TokenKeys, issue_token
from tests.integration.ops.helpers import env_of
from tests.integration.runtime.helpers import wait_for

pytestmark = pytest.mark.integration

SECRET = "read-api-process-secret-0123456789abcdef"


def test_the_read_api_process_serves_admins_and_stops_on_sigterm(
    test_settings: Settings,
) -> None:
    migrate(test_settings.database_dsn(), "payment")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env |= env_of(test_settings) | {
        "LUNAS_FEED_TOKEN_SECRET": SECRET,
        "LUNAS_PAYMENT_ADMINS": "ani",
        "LUNAS_READ_API_HOST": "127.0.0.1",
        "LUNAS_READ_API_PORT": str(port),
    }
    token = issue_token(
        TokenKeys.of(SECRET), "*", "admin:ani", timedelta(hours=1), datetime.now(UTC)
    )
    base = f"http://127.0.0.1:{port}"
    child = subprocess.Popen([sys.executable, "-m", "services.ops", "serve", "read-api"], env=env)
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return child.poll() is not None  # died: stop waiting, the asserts say so

        wait_for(up, timeout=60, what="the read API to answer")
        assert child.poll() is None
        listed = httpx.get(
            f"{base}/v1/payments", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert (listed.status_code, listed.json()) == (200, {"payments": []})
        assert httpx.get(f"{base}/v1/payments", timeout=10).status_code == 401
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
