"""The feed API's one live subscription against real Redis: fan-out, limits, slow streams, and
re-subscribing after Redis restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.common.devstack import start_redis
from services.notify_svc.feed_store import FeedStore
from services.notify_svc.live import QUEUE_SIZE, Dropped, LiveFeeds, Resync, StreamRefused
from tests.integration.notify.conftest import MakeNotification

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SELLER = "user:seller-1"


@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[LiveFeeds]:
    feeds = LiveFeeds(Redis.from_url(redis_url), per_reader=3, max_streams=5)  # closes it
    async with feeds.running():
        assert await feeds.wait_subscribed(5)
        yield feeds


async def test_a_notification_reaches_every_stream_of_its_reader_once_and_no_other(
    live: LiveFeeds, redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    mine = [live.open(tenant, SELLER) for _ in range(3)]
    neighbour = live.open(tenant, "user:seller-2")
    elsewhere = live.open(f"{tenant}-b", SELLER)
    n = make_notification(1)
    await store.add(n)
    await store.add(n)  # stored already: not published again
    theirs = make_notification(2, recipient="user:seller-2")
    await store.add(theirs)
    for stream in mine:
        assert await stream.next(timeout=5) == n
        assert await stream.next(timeout=0.3) is None
    # The neighbour's first signal is their own notification, not the seller's.
    assert await neighbour.next(timeout=5) == theirs
    assert await elsewhere.next(timeout=0.3) is None


async def test_streams_are_capped_per_reader_and_per_process_and_freed_on_close(
    live: LiveFeeds, tenant: str
) -> None:
    held = [live.open(tenant, SELLER) for _ in range(3)]
    with pytest.raises(StreamRefused) as per_reader:
        live.open(tenant, SELLER)
    assert (per_reader.value.limit, per_reader.value.cap) == ("per_reader", 3)
    others = [live.open(tenant, "user:seller-2"), live.open(tenant, "user:seller-3")]
    with pytest.raises(StreamRefused) as process:
        live.open(tenant, "user:seller-4")
    assert process.value.limit == "process"
    held[0].close()
    held[0].close()  # closing twice frees one place, not two
    assert live.open_streams == 4
    live.open(tenant, SELLER)
    for stream in [*held[1:], *others]:
        stream.close()
    assert live.open_streams == 1


async def test_a_stream_that_falls_behind_is_dropped_not_buffered(
    live: LiveFeeds, redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    slow, reading = live.open(tenant, SELLER), live.open(tenant, SELLER)
    first = make_notification(0)
    await store.add(first)
    assert await reading.next(timeout=5) == first
    for i in range(1, QUEUE_SIZE + 2):
        await store.add(make_notification(i))
        assert await reading.next(timeout=5) == make_notification(i)
    signal = await slow.next(timeout=5)
    assert isinstance(signal, Dropped) and "behind" in signal.reason
    assert await slow.next(timeout=0.1) == signal  # it stays ended
    assert live.dropped == 1


async def test_what_is_queued_is_taken_at_once_in_order_and_nothing_follows_a_drop(
    live: LiveFeeds, redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    stream, slow = live.open(tenant, SELLER), live.open(tenant, SELLER)
    sent = [make_notification(i) for i in range(30)]
    await store.add_all(sent)
    taken: list[object] = []
    while len(taken) < len(sent):
        ready = await stream.next_ready(timeout=5)
        assert ready, "a notification never came"
        taken += ready
    assert taken == sent
    assert await stream.next_ready(timeout=0.2) == []
    await store.add_all([make_notification(i) for i in range(30, 30 + QUEUE_SIZE)])
    for _ in range(100):
        if live.dropped:
            break
        await asyncio.sleep(0.05)
    (signal,) = await slow.next_ready(timeout=5)  # its queue overflowed: only the drop is left
    assert isinstance(signal, Dropped)


async def test_after_redis_restarts_streams_are_told_to_resync_and_receive_again(
    tmp_path: Path, make_notification: MakeNotification, tenant: str
) -> None:
    child, url = start_redis(tmp_path)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    subscriber = Redis.from_url(url, retry=Retry(NoBackoff(), 0))
    writer = Redis.from_url(url)
    live = LiveFeeds(subscriber, per_reader=3, max_streams=5)
    try:
        async with live.running():
            assert await live.wait_subscribed(5)
            stream = live.open(tenant, SELLER)
            child.stop()
            child, _ = start_redis(tmp_path, port=port)
            assert await stream.next(timeout=15) == Resync()
            assert live.resubscriptions == 1 and live.subscribed
            n = make_notification(1)
            await FeedStore(writer).add(n)
            assert await stream.next(timeout=5) == n
    finally:
        await writer.aclose()
        child.stop()
