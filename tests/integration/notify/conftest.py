"""Fixtures for notify_svc against the session's real Redis (`redis_url` from tests/fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.common.settings import Settings
from services.notify_svc.model import Notification, derive_notification_id
from tests.integration.notify.harness import Stack, own_stack

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def redis_async(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def tenant() -> str:
    """A tenant no other test uses, so tests need not flush a Redis others may share."""
    return f"dist-{uuid.uuid4().hex[:10]}"


MakeNotification = Callable[..., Notification]


@pytest.fixture
def make_notification(tenant: str) -> MakeNotification:
    def make(
        n: int,
        *,
        recipient: str = "user:seller-1",
        tenantid: str | None = None,
        body: str | None = None,
    ) -> Notification:
        tid = tenantid or tenant
        return Notification(
            notification_id=derive_notification_id(tid, f"evt-{n}", recipient),
            tenantid=tid,
            recipient=recipient,
            kind="pickup_cancel_rejected",
            title="Pembatalan pickup ditolak",
            body=body or f"Pembatalan pickup untuk order SO-{n} ditolak admin. Alasan: stok.",
            locale="id",
            data={"order_id": f"SO-{n}", "reason": "stok"},
            created_at=T0 + timedelta(minutes=n),
            source_event_id=f"evt-{n}",
        )

    return make


@pytest.fixture(scope="package")
def stack(
    request: pytest.FixtureRequest, infra: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """notify_svc and the feed API as processes, shared by the package's process tests (each
    works in a tenant of its own); `rina` is the pickup admin."""
    data_dir = tmp_path_factory.mktemp("notify-app")
    with own_stack(request.config, infra, data_dir) as stack:
        yield stack
