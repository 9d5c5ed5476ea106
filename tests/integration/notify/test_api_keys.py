"""Feed API secrets: no process starts without a proper one; rotation keeps readers signed in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from redis.asyncio import Redis

from services.notify_svc.tokens import TokenKeys, issue_token
from tests.integration.notify.apps import feed_app

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
OLD = "the-secret-before-the-rotation-0123456789"
NEW = "the-secret-after-the-rotation-0123456789"
READER = "user:seller-77"


@pytest.mark.parametrize("name", ["feed-api", "notify"])
@pytest.mark.parametrize(
    ("secret", "why"),
    [(None, "is not set"), ("dev-only-change-me", "is too short (18 bytes)")],
    ids=["no-secret", "short-secret"],
)
def test_the_process_refuses_to_start_and_says_why(name: str, secret: str | None, why: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env |= {"LUNAS_REDIS_URL": "redis://127.0.0.1:1/0", "LUNAS_KAFKA_BOOTSTRAP_SERVERS": "x:1"}
    if secret is not None:
        env["LUNAS_FEED_TOKEN_SECRET"] = secret
    done = subprocess.run(
        [sys.executable, "-m", "services.notify_svc.entrypoint", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert f"LUNAS_FEED_TOKEN_SECRET {why}" in done.stderr
    assert "at least 32 bytes" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def rotated(redis_url: str) -> Iterator[TestClient]:
    """The feed API after a rotation: NEW signs, OLD is listed as retired."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = TokenKeys.of(NEW, [OLD])
    app = feed_app(redis, keys, lambda: NOW)
    with TestClient(app) as client:
        yield client
        assert client.portal is not None
        client.portal.call(redis.aclose)


def _get(client: TestClient, keys: TokenKeys, tenant: str) -> int:
    token = issue_token(keys, tenant, READER, timedelta(hours=1), NOW)
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/v1/notifications/unread-count", headers=headers).status_code


def test_a_token_signed_with_a_retired_key_still_opens_the_feed(
    rotated: TestClient, tenant: str
) -> None:
    assert _get(rotated, TokenKeys.of(OLD), tenant) == 200
    assert _get(rotated, TokenKeys.of(NEW), tenant) == 200


def test_a_token_signed_with_an_unknown_key_is_401(rotated: TestClient, tenant: str) -> None:
    stranger = TokenKeys.of("nobody-configured-this-secret-0123456789")
    assert _get(rotated, stranger, tenant) == 401
