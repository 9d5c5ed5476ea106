"""The feed API process (`python -m services.notify_svc.entrypoint feed-api`, real uvicorn) under
many open streams, over real HTTP: one token cannot take what other readers and the probes need,
streams share one Redis subscription, and they receive again after Redis restarts.

Each test's process has a Redis of its own, so its connections can be counted.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from redis.asyncio import Redis

from services.common.devstack import ChildProcess, start_redis
from services.common.settings import Settings
from services.notify_svc.feed_store import FeedStore
from services.notify_svc.model import Notification
from tests.integration.notify.conftest import MakeNotification
from tests.integration.notify.harness import (
    SELLER,
    FeedApi,
    settings_for,
    start,
    terminate,
    wait_healthy,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

STREAM = "/v1/notifications/stream"
CAP = 5  # LUNAS_FEED_STREAMS_PER_TOKEN's default
POOL = 4  # LUNAS_FEED_REDIS_POOL_SIZE for these processes


@dataclass
class Served:
    api: FeedApi
    redis_url: str
    redis_port: int
    data_dir: Path
    redis_child: ChildProcess


def _serve(infra: Settings, data_dir: Path) -> Iterator[Served]:
    redis_child, url = start_redis(data_dir)
    settings = settings_for(infra, infra.kafka_bootstrap_servers or "", url, data_dir)
    settings = settings.model_copy(update={"feed_redis_pool_size": POOL})
    child = start("feed-api", settings)
    api = FeedApi(f"http://{settings.feed_api_host}:{settings.feed_api_port}")
    served = Served(api, url, int(url.rsplit(":", 1)[1].split("/")[0]), data_dir, redis_child)
    try:
        wait_healthy(api, child)
        yield served
    finally:
        code = terminate(child)
        served.redis_child.stop()
    assert code == 0, child.log_tail()


@pytest.fixture(scope="module")
def shared(infra: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(infra, tmp_path_factory.mktemp("feed-limits"))


@pytest.fixture
def own(infra: Settings, tmp_path: Path) -> Iterator[Served]:
    yield from _serve(infra, tmp_path)


@pytest.fixture
async def http(shared: Served) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=shared.api.url, timeout=30, limits=limits) as client:
        yield client


def _auth(api: FeedApi, tenant: str, user: str = SELLER) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(tenant, user)}"}


async def _open(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[httpx.Response]:
    requests = [client.build_request("GET", STREAM, headers=headers) for _ in range(n)]
    return list(await asyncio.gather(*(client.send(r, stream=True) for r in requests)))


async def _close(responses: list[httpx.Response]) -> None:
    for response in responses:
        await response.aclose()


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.2)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


class Events:
    """The events of one open stream, parsed from its lines."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200
        self._lines = response.aiter_lines()

    async def _next(self) -> dict[str, str]:
        event: dict[str, str] = {}
        while True:
            line = await anext(self._lines)
            if line == "" and event:
                return event
            if line.startswith(":"):
                return {"comment": line[1:].strip()}
            if line:
                field, _, value = line.partition(":")
                event[field] = value.removeprefix(" ")

    async def next(self, timeout: float = 20) -> dict[str, str]:
        """The next event that is not a keep-alive, within `timeout` seconds."""

        async def wanted() -> dict[str, str]:
            while True:
                event = await self._next()
                if event.get("comment") != "keep-alive":
                    return event

        return await asyncio.wait_for(wanted(), timeout)


async def _add(redis_url: str, *notifications: Notification) -> None:
    client = Redis.from_url(redis_url)
    try:
        for n in notifications:
            assert await FeedStore(client).add(n)
    finally:
        await client.aclose()


async def _status(client: httpx.AsyncClient, path: str) -> int:
    return (await client.get(path)).status_code


async def _open_streams(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("lunas_feed_api_open_streams "))
    return float(line.split()[1])


async def test_a_hundred_streams_of_one_token_get_the_cap_and_429_while_others_are_served(
    shared: Served, http: httpx.AsyncClient, tenant: str
) -> None:
    responses = await _open(http, _auth(shared.api, tenant), 100)
    try:
        assert Counter(r.status_code for r in responses) == {200: CAP, 429: 100 - CAP}
        refused = next(r for r in responses if r.status_code == 429)
        await refused.aread()
        assert refused.headers["retry-after"] == "30"
        assert refused.headers["content-type"] == "application/json"
        assert refused.json() == {
            "detail": f"too many open streams for this reader (at most {CAP}): close one first"
        }
        # Meanwhile another tenant reads its feed and every probe answers.
        other = await http.get("/v1/notifications", headers=_auth(shared.api, f"{tenant}-b"))
        assert other.status_code == 200 and other.json()["items"] == []
        for probe in ("/healthz", "/livez", "/readyz"):
            assert await _status(http, probe) == 200, probe
        for opened in (r for r in responses if r.status_code == 200):
            assert await Events(opened).next() == {"comment": "connected"}
    finally:
        await _close(responses)
    # Closing a stream gives its place back: the same token may open its share again.
    await _until(lambda: _zero_open(http), "the closed streams to be released")
    again = await _open(http, _auth(shared.api, tenant), CAP)
    try:
        assert [r.status_code for r in again] == [200] * CAP
    finally:
        await _close(again)


async def _zero_open(client: httpx.AsyncClient) -> bool:
    return await _open_streams(client) == 0


async def test_a_hundred_open_streams_hold_no_redis_connection_of_their_own(
    shared: Served, http: httpx.AsyncClient, tenant: str
) -> None:
    readers = [_auth(shared.api, tenant, f"user:seller-{i}") for i in range(100 // CAP)]
    responses = [r for h in readers for r in await _open(http, h, CAP)]
    try:
        assert [r.status_code for r in responses] == [200] * 100
        # Every reader's list request at once, through a request pool of POOL connections.
        pages = await asyncio.gather(*(http.get("/v1/notifications", headers=h) for h in readers))
        assert [p.status_code for p in pages] == [200] * len(readers)
        assert await _status(http, "/readyz") == 200
        with redis.Redis.from_url(shared.redis_url) as counter:
            others = len(counter.client_list()) - 1  # without this one
        # The request pool, the one subscription and the probe's two: not one per stream.
        assert others <= POOL + 1 + 2, others
    finally:
        await _close(responses)


async def test_a_notification_reaches_every_stream_of_its_reader_once_and_no_one_else(
    shared: Served, http: httpx.AsyncClient, tenant: str, make_notification: MakeNotification
) -> None:
    api = shared.api
    mine = await _open(http, _auth(api, tenant), 3)
    neighbour = await _open(http, _auth(api, tenant, "user:seller-2"), 1)
    elsewhere = await _open(http, _auth(api, f"{tenant}-b"), 1)
    try:
        streams = {
            name: [Events(r) for r in rs]
            for name, rs in (("mine", mine), ("neighbour", neighbour), ("elsewhere", elsewhere))
        }
        for events in (e for es in streams.values() for e in es):
            assert await events.next() == {"comment": "connected"}
        n, marker = make_notification(1, recipient=SELLER), make_notification(2, recipient=SELLER)
        theirs = make_notification(3, recipient="user:seller-2")
        other_tenant = make_notification(4, recipient=SELLER, tenantid=f"{tenant}-b")
        await _add(shared.redis_url, n, marker, theirs, other_tenant)
        for events in streams["mine"]:
            got = [await events.next(), await events.next()]
            assert [(e["event"], e["id"]) for e in got] == [
                ("notification", n.notification_id),
                ("notification", marker.notification_id),
            ]
            assert json.loads(got[0]["data"])["body"] == n.body
        # Their first event is their own notification: the seller's never reached them.
        (neighbours,) = streams["neighbour"]
        assert (await neighbours.next())["id"] == theirs.notification_id
        (elsewheres,) = streams["elsewhere"]
        assert (await elsewheres.next())["id"] == other_tenant.notification_id
    finally:
        await _close([*mine, *neighbour, *elsewhere])


async def test_after_redis_restarts_an_open_stream_resyncs_and_receives_again(
    own: Served, tenant: str, make_notification: MakeNotification
) -> None:
    async with httpx.AsyncClient(base_url=own.api.url, timeout=30) as client:
        (response,) = await _open(client, _auth(own.api, tenant), 1)
        try:
            events = Events(response)
            assert await events.next() == {"comment": "connected"}
            own.redis_child.stop()
            await _until(lambda: _down(client), "/readyz and /healthz to report Redis down")
            assert await _status(client, "/livez") == 200  # alive: nothing to restart
            own.redis_child, _ = start_redis(own.data_dir, port=own.redis_port)
            assert await events.next(timeout=30) == {"event": "resync", "data": "{}"}
            n = make_notification(1, recipient=SELLER)
            await _add(own.redis_url, n)
            got = await events.next()
            assert (got["event"], got["id"]) == ("notification", n.notification_id)
            assert await _status(client, "/readyz") == 200
        finally:
            await response.aclose()


async def _down(client: httpx.AsyncClient) -> bool:
    return await _status(client, "/readyz") == 503 and await _status(client, "/healthz") == 503
