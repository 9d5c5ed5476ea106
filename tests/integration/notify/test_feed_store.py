"""The Redis feed store: what a seller's notification list shows, and that it never leaks."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from services.notify_svc.feed_store import (
    LIVE_PATTERN,
    FeedStore,
    InvalidCursor,
    live_notification,
)
from tests.integration.notify.conftest import MakeNotification

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SELLER = "user:seller-1"


async def _all_ids(
    store: FeedStore, tenant: str, recipient: str, limit: int, **kw: bool
) -> list[str]:
    ids, cursor = [], None
    while True:
        page = await store.page(tenant, recipient, limit=limit, cursor=cursor, **kw)
        ids += [item.notification.notification_id for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


async def test_same_notification_twice_is_one_item_and_one_unread(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    n = make_notification(1)
    assert await store.add(n) is True
    assert await store.add(n) is False
    page = await store.page(tenant, SELLER, limit=10)
    assert [i.notification for i in page.items] == [n]
    assert await store.unread_count(tenant, SELLER) == 1


async def test_replay_does_not_make_a_read_notification_unread(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    n = make_notification(1)
    await store.add(n)
    assert await store.mark_read(tenant, SELLER, n.notification_id)
    await store.add(n)
    stored = await store.get(tenant, SELLER, n.notification_id)
    assert stored is not None and stored.read
    assert await store.unread_count(tenant, SELLER) == 0


async def test_concurrent_duplicate_writes_leave_one_item(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    n = make_notification(1)
    results = await asyncio.gather(*(store.add(n) for _ in range(20)))
    assert results.count(True) == 1
    assert len((await store.page(tenant, SELLER, limit=50)).items) == 1


async def test_feed_is_newest_first_and_pages_cover_everything_once(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    for i in (3, 1, 7, 5, 2, 6, 4):  # arrival order differs from event time
        await store.add(make_notification(i))
    expected = [make_notification(i).notification_id for i in (7, 6, 5, 4, 3, 2, 1)]
    assert await _all_ids(store, tenant, SELLER, limit=3) == expected
    assert await _all_ids(store, tenant, SELLER, limit=7) == expected
    assert await _all_ids(store, tenant, SELLER, limit=100) == expected


async def test_unread_filter_and_read_all(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    for i in range(1, 6):
        await store.add(make_notification(i))
    await store.mark_read(tenant, SELLER, make_notification(4).notification_id)
    await store.mark_read(tenant, SELLER, make_notification(2).notification_id)
    unread = await _all_ids(store, tenant, SELLER, limit=2, unread_only=True)
    assert unread == [make_notification(i).notification_id for i in (5, 3, 1)]
    assert await store.unread_count(tenant, SELLER) == 3
    assert await store.mark_all_read(tenant, SELLER) == 3
    assert await store.unread_count(tenant, SELLER) == 0
    page = await store.page(tenant, SELLER, limit=10)
    assert len(page.items) == 5 and all(item.read for item in page.items)


async def test_feed_is_capped_to_the_newest_items(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async, cap=3)
    for i in range(1, 6):
        await store.add(make_notification(i))
    newest = [make_notification(i).notification_id for i in (5, 4, 3)]
    assert await _all_ids(store, tenant, SELLER, limit=10) == newest
    assert await store.unread_count(tenant, SELLER) == 3
    assert await store.get(tenant, SELLER, make_notification(1).notification_id) is None
    # An item older than the whole full feed is not stored (and not announced as new).
    assert await store.add(make_notification(0)) is False
    assert await _all_ids(store, tenant, SELLER, limit=10) == newest


async def test_a_batch_over_several_feeds_stores_each_as_one_add_at_a_time_would(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async, cap=3)
    await store.add(make_notification(2))
    office = f"tenant:{tenant}"
    batch = [
        make_notification(1),  # older than a feed that will be full: not kept
        make_notification(2),  # already stored
        *(make_notification(i, recipient=office) for i in range(1, 6)),
        make_notification(3),
        make_notification(4),
        make_notification(3),  # twice in one batch: once
        make_notification(5),
        make_notification(9, recipient="user:seller-2"),
    ]
    async with redis_async.pubsub() as live:
        await live.psubscribe(LIVE_PATTERN)
        subscribed = await live.get_message(timeout=5.0)  # the server has it before we write
        assert subscribed is not None and subscribed["type"] == "psubscribe"
        stored = await store.add_all(batch)
        pushed = await _pushed(live, expected=sum(stored))
    assert stored == [True, False, *[True] * 5, True, True, False, True, True]
    newest = [make_notification(i).notification_id for i in (5, 4, 3)]
    assert await _all_ids(store, tenant, SELLER, limit=10) == newest
    office_ids = [make_notification(i, recipient=office).notification_id for i in (5, 4, 3)]
    assert await _all_ids(store, tenant, office, limit=10) == office_ids
    assert await store.unread_count(tenant, "user:seller-2") == 1
    announced = [n for n, new in zip(batch, stored, strict=True) if new]
    assert sorted(pushed) == sorted(n.notification_id for n in announced)


async def _pushed(live: PubSub, *, expected: int) -> list[str]:
    """The notification ids pushed on live channels, until `expected` came."""
    ids: list[str] = []
    while len(ids) < expected:
        message = await live.get_message(ignore_subscribe_messages=True, timeout=5.0)
        assert message is not None, f"only {len(ids)} of {expected} pushed"
        ids.append(live_notification(message["data"]).notification_id)
    return ids


async def test_other_users_and_tenants_see_nothing_of_this_feed(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    mine = make_notification(1)
    await store.add(mine)
    nid = mine.notification_id
    for other_tenant, other_user in ((tenant, "user:seller-2"), (f"{tenant}-b", SELLER)):
        assert await store.get(other_tenant, other_user, nid) is None
        assert not await store.mark_read(other_tenant, other_user, nid)
        assert (await store.page(other_tenant, other_user, limit=10)).items == ()
        assert await store.unread_count(other_tenant, other_user) == 0
        assert await store.mark_all_read(other_tenant, other_user) == 0
    stored = await store.get(tenant, SELLER, nid)
    assert stored is not None and not stored.read


async def test_separators_in_names_cannot_reach_another_feed(
    redis_async: Redis, tenant: str, make_notification: MakeNotification
) -> None:
    store = FeedStore(redis_async)
    # Without encoding, ("<t>:user", "a") and ("<t>", "user:a") would share keys.
    await store.add(make_notification(1, tenantid=f"{tenant}:user", recipient="a"))
    assert (await store.page(tenant, "user:a", limit=10)).items == ()
    assert await store.unread_count(tenant, "user:a") == 0


async def test_a_cursor_not_made_by_the_store_is_refused(redis_async: Redis, tenant: str) -> None:
    store = FeedStore(redis_async)
    for bad in ("not-a-cursor", "Zm9vYmFy", "%%%"):
        with pytest.raises(InvalidCursor):
            await store.page(tenant, SELLER, limit=5, cursor=bad)
