"""Redis goes away under a running notify_svc: nothing is skipped, all arrives once it is back.

Its own Redis (stopped and restarted on the same port) and its own broker, so the outage touches
no other test.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import pytest

from schemas import decode
from services.common.devstack import start_redis
from services.common.settings import Settings
from services.common.topics import ensure_topics
from tests.integration.notify.harness import (
    SELLER,
    FeedApi,
    Unavailable,
    eventually,
    example,
    produce,
    read_all,
    running,
    settings_for,
    start,
    terminate,
)

pytestmark = pytest.mark.integration

REJECT = ("pickup_cancel_reject", "pickup.cancel.decided")
PAYMENT_CANCELLED = ("payment_cancel", "payment.cancelled")
OUTAGE_S = 8.0


def _health(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def kinds(api: FeedApi, tenant: str, user: str) -> list[str]:
    return sorted(str(row["kind"]) for row in api.feed(tenant, user))


def complete(api: FeedApi, tenant: str) -> bool:
    """Both facts in the back office's feed, the rejection in the seller's: nothing more."""
    office = kinds(api, tenant, f"tenant:{tenant}")
    seller = kinds(api, tenant, SELLER)
    assert len(office) <= 2 and len(seller) <= 1, (office, seller)
    return office == ["payment_cancelled", "pickup_cancel_rejected"] and seller == [
        "pickup_cancel_rejected"
    ]


def test_notifications_produced_while_redis_is_down_arrive_after_it_returns(
    infra: Settings, private_broker: str, tmp_path: Path
) -> None:
    redis_child, redis_url = start_redis(tmp_path)
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    settings = settings_for(infra, private_broker, redis_url, tmp_path)
    ensure_topics(settings.kafka_config(), settings.topic_partitions)
    tenants = [f"outage-{i}" for i in range(4)]
    try:
        with running(settings) as (notify, api):
            produce(
                private_broker, "pickup.cancel.decided", [example(*REJECT, tenant="warm", run="w")]
            )
            eventually(lambda: api.feed("warm", SELLER), what="the app to be consuming")

            redis_child.stop()
            down_at = time.monotonic()
            produce(
                private_broker,
                "pickup.cancel.decided",
                [example(*REJECT, tenant=t, run="o") for t in tenants],
            )
            produce(
                private_broker,
                "payment.events",
                [example(*PAYMENT_CANCELLED, tenant=t, run="o") for t in tenants],
            )
            eventually(lambda: _health(api.url) == 503, what="the feed API to report Redis down")
            with pytest.raises(Unavailable):  # a reader is told to retry, not shown a 500
                api.feed("warm", SELLER)
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            assert notify.alive(), f"notify died during the outage:\n{notify.log_tail()}"

            redis_child, _ = start_redis(tmp_path, port=port)
            for t in tenants:
                eventually(partial(complete, api, t), timeout=60, what=f"{t}'s notifications")
            wire = {
                decode(r.value()).data_dict()["tenantid"]
                for r in read_all(private_broker, "notifications")
            }
            assert set(tenants) <= wire
            assert not [r for r in read_all(private_broker, "pickup.cancel.decided.dlq")]
            assert not [r for r in read_all(private_broker, "payment.events.dlq")]
    finally:
        redis_child.stop()


def test_sigterm_while_redis_is_down_exits_0_and_loses_nothing(
    infra: Settings, private_broker: str, tmp_path: Path
) -> None:
    redis_child, redis_url = start_redis(tmp_path)
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    settings = settings_for(infra, private_broker, redis_url, tmp_path)
    ensure_topics(settings.kafka_config(), settings.topic_partitions)
    tenants = [f"stopped-{i}" for i in range(3)]
    try:
        with running(settings) as (notify, api):
            warm = example(*REJECT, tenant="warm", run="w")
            produce(private_broker, "pickup.cancel.decided", [warm])
            eventually(lambda: api.feed("warm", SELLER), what="the app to be consuming")
            redis_child.stop()
            produce(
                private_broker,
                "pickup.cancel.decided",
                [example(*REJECT, tenant=t, run="s") for t in tenants],
            )
            produce(
                private_broker,
                "payment.events",
                [example(*PAYMENT_CANCELLED, tenant=t, run="s") for t in tenants],
            )
            eventually(
                lambda: "notify.transient" in notify.log_tail(50), what="notify to be retrying"
            )
            started = time.monotonic()
            assert terminate(notify) == 0, notify.log_tail()
            # It gives up the records in hand at once instead of waiting out the outage.
            assert time.monotonic() - started < 15

            redis_child, _ = start_redis(tmp_path, port=port)
            successor = start("notify", settings)
            try:
                for t in tenants:
                    eventually(partial(complete, api, t), timeout=90, what=f"{t}'s notifications")
            finally:
                assert terminate(successor) == 0, successor.log_tail()
    finally:
        redis_child.stop()
