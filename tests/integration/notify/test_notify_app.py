"""notify_svc and the feed API as real processes against a real broker and Redis.

One broker, one notify process and one feed API (`stack` in conftest) serve the package;
every test works in a tenant of its own, so tests do not see each other's notifications.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from schemas import decode
from services.common.settings import Settings
from services.notify_svc.app import FETCH_PARTITION_BYTES
from services.ops.stack import settings_env
from tests.integration.notify.harness import (
    SELLER,
    FeedApi,
    Stack,
    eventually,
    example,
    produce,
    read_all,
)

pytestmark = pytest.mark.integration

APPROVE = ("pickup_cancel_approve", "pickup.cancel.decided")
REJECT = ("pickup_cancel_reject", "pickup.cancel.decided")
ARRANGED = ("pickup_cancel_approve", "pickup.arranged")
PAYMENT_CANCELLED = ("payment_cancel", "payment.cancelled")


def rebuild(settings: Settings) -> dict[str, int]:
    """`feed rebuild` in a process of its own, as an operator runs it; its JSON counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(settings_env(settings))
    code = "from services.ops.notify_cmds import feed_app; feed_app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "rebuild", "--idle", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    counts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return counts


@pytest.fixture
def tenant() -> str:
    return f"seller-{uuid.uuid4().hex[:10]}"


def _by_kind(api: FeedApi, tenant: str, user: str, kind: str) -> dict[str, object] | None:
    return next((row for row in api.feed(tenant, user) if row["kind"] == kind), None)


def test_approval_and_rejection_reach_the_requesting_seller_with_the_admins_reason(
    stack: Stack, tenant: str
) -> None:
    approve = example(*APPROVE, tenant=tenant, run="a")
    reject = example(*REJECT, tenant=tenant, run="r")
    produce(stack.bootstrap, "pickup.cancel.decided", [approve, reject])

    approved = eventually(
        lambda: _by_kind(stack.api, tenant, SELLER, "pickup_cancel_approved"),
        what="the approval in the seller's feed",
    )
    rejected = eventually(
        lambda: _by_kind(stack.api, tenant, SELLER, "pickup_cancel_rejected"),
        what="the rejection in the seller's feed",
    )
    full_approval = stack.api.detail(tenant, SELLER, str(approved["notification_id"]))
    assert full_approval["title"] == "Pembatalan pickup disetujui"
    assert approve["data"]["reason"] in full_approval["body"]
    assert approve["data"]["voided_awb"] in full_approval["body"]
    full_rejection = stack.api.detail(tenant, SELLER, str(rejected["notification_id"]))
    assert full_rejection["title"] == "Pembatalan pickup ditolak"
    assert reject["data"]["reason"] in full_rejection["body"]
    assert "Anda dapat mengajukan pembatalan kembali" in full_rejection["body"]
    # Another seller of the same tenant, and the same seller in another tenant, see nothing.
    assert stack.api.feed(tenant, "user:seller-78") == []
    assert stack.api.feed(f"{tenant}-other", SELLER) == []


def test_a_cancelled_payment_tells_the_back_office_it_was_cancelled(
    stack: Stack, tenant: str
) -> None:
    cancelled = example(*PAYMENT_CANCELLED, tenant=tenant, run="p")
    produce(stack.bootstrap, "payment.events", [cancelled])
    row = eventually(
        lambda: _by_kind(stack.api, tenant, f"tenant:{tenant}", "payment_cancelled"),
        what="the cancelled payment in the tenant feed",
    )
    full = stack.api.detail(tenant, f"tenant:{tenant}", str(row["notification_id"]))
    assert full["body"].startswith("Pembayaran pelanggan berhasil dibatalkan")
    assert cancelled["data"]["payment_no"] in full["body"]


def test_a_decision_delivered_three_times_is_one_notification(stack: Stack, tenant: str) -> None:
    decided = example(*REJECT, tenant=tenant, run="dup")
    produce(stack.bootstrap, "pickup.cancel.decided", [decided, decided, decided])

    def on_the_wire() -> list[tuple[bytes, bytes]]:
        records = read_all(stack.bootstrap, "notifications")
        prefix = f"{tenant}:".encode()
        return [
            (r.key() or b"", r.value() or b"")
            for r in records
            if (r.key() or b"").startswith(prefix)
        ]

    # Every delivery re-publishes (at least once): two recipients x three deliveries.
    wire = eventually(lambda: len(on_the_wire()) >= 6 and on_the_wire(), what="6 publishes")
    ids = {decode(value).id for _, value in wire}
    assert len(ids) == 2, "one notification per recipient, whatever the deliveries"
    assert len({value for _, value in wire}) == 2, "a duplicate is the same message byte for byte"
    seller_feed = stack.api.feed(tenant, SELLER)
    assert [row["kind"] for row in seller_feed] == ["pickup_cancel_rejected"]
    assert seller_feed[0]["notification_id"] in ids
    status, unread = stack.api.get("/v1/notifications/unread-count", tenant, SELLER)
    assert (status, unread) == (200, {"unread": 1})


# The second is larger than what notify_svc fetches per partition (app.FETCH_PARTITION_BYTES):
# the broker must still hand it over whole, or the partition would stop behind it.
POISON = {
    "not_json": lambda marker: b"{not json " + marker,
    "larger_than_a_fetch": lambda marker: (
        b'{"marker": "' + marker + b'", "pad": "' + b"x" * (FETCH_PARTITION_BYTES + 1) + b'"}'
    ),
}


@pytest.mark.parametrize(
    ("poison", "error"), [("not_json", b"not_json"), ("larger_than_a_fetch", b"schema")]
)
def test_poison_on_pickup_events_goes_to_its_dlq_and_later_events_still_arrive(
    stack: Stack, tenant: str, poison: str, error: bytes
) -> None:
    arranged = example(*ARRANGED, tenant=tenant, run=f"after-{poison}")
    marker = f"poison-{tenant}".encode()
    produce(stack.bootstrap, "pickup.events", [POISON[poison](marker), arranged], key_of=arranged)

    row = eventually(
        lambda: _by_kind(stack.api, tenant, f"tenant:{tenant}", "pickup_arranged"),
        what="the event after the poison to be notified",
    )
    assert arranged["data"]["awb"] in str(row["preview"])
    dead = [
        r for r in read_all(stack.bootstrap, "pickup.events.dlq") if marker in (r.value() or b"")
    ]
    assert len(dead) == 1
    headers = dict(dead[0].headers() or [])
    assert headers["lunas.error"] == error
    assert headers["lunas.service"] == b"notify"
    assert headers["lunas.original.topic"] == b"pickup.events"
    assert {"lunas.original.partition", "lunas.original.offset"} <= headers.keys()


def test_feed_rebuild_after_flushdb_restores_the_feed(
    stack: Stack, tenant: str, tmp_path: Path
) -> None:
    produce(stack.bootstrap, "pickup.cancel.decided", [example(*REJECT, tenant=tenant, run="rb")])
    before = eventually(lambda: stack.api.feed(tenant, SELLER), what="the seller's feed")
    client = redis.Redis.from_url(stack.settings.redis_dsn())
    try:
        client.flushdb()
    finally:
        client.close()
    assert stack.api.feed(tenant, SELLER) == []

    counts = rebuild(stack.settings)
    assert counts["stored"] >= 2 and counts["skipped_invalid"] == 0
    after = stack.api.feed(tenant, SELLER)
    assert [r["notification_id"] for r in after] == [r["notification_id"] for r in before]
    assert after[0]["title"] == before[0]["title"] and after[0]["read"] is False

    counts_again = rebuild(stack.settings)
    assert counts_again["stored"] == 0
    assert counts_again["already_present"] == counts["stored"] + counts["already_present"]
