"""The feed API against real Redis: a reader sees exactly their own feed, through every endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from redis.asyncio import Redis

from services.notify_svc.feed_store import FeedStore
from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import Malformed, derive_notifications
from services.notify_svc.tokens import TokenKeys, issue_token
from tests.integration.notify.apps import feed_app

pytestmark = pytest.mark.integration

SECRET = "feed-api-test-secret-0123456789ab"
KEYS = TokenKeys.of(SECRET)
NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
SELLER, OTHER_SELLER = "user:seller-77", "user:seller-78"
LONG_REASON = (
    "Kurir sudah dalam perjalanan ke lokasi penjemputan dan paket sudah ditimbang di gudang "
    "Bekasi, sehingga pembatalan tidak dapat diproses; silakan hubungi CS bila perlu bantuan."
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def decided(tenant: str, n: int, *, seller: str = SELLER, minutes: int = 0) -> list[Notification]:
    event = SourceEvent(
        type="pickup.cancel.decided",
        tenantid=tenant,
        event_id=f"evt-decided-{n}",
        time=NOW - timedelta(hours=1) + timedelta(minutes=minutes or n),
        data={
            "request_id": f"req-{n}",
            "order_id": f"ORD-{n}",
            "decision": "reject",
            "reason": LONG_REASON,
            "requested_reason": "Pembeli minta ganti alamat",
            "decided_by": "admin:ani",
            "requested_by": seller,
        },
        actor="admin:ani",
    )
    result = derive_notifications(event)
    assert not isinstance(result, Malformed)
    return [x for x in result if x.recipient == seller]


def seed(redis_url: str, notifications: list[Notification]) -> None:
    async def run() -> None:
        client = Redis.from_url(redis_url, decode_responses=True)
        try:
            store = FeedStore(client)
            for n in notifications:
                await store.add(n)
        finally:
            await client.aclose()

    asyncio.run(run())


@dataclass
class Api:
    client: TestClient
    clock: Clock
    tenant: str

    def auth(self, user: str = SELLER, tenant: str | None = None) -> dict[str, str]:
        token = issue_token(KEYS, tenant or self.tenant, user, timedelta(hours=1), self.clock())
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(redis_url: str, tenant: str) -> Iterator[Api]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    clock = Clock(NOW)
    app = feed_app(redis, KEYS, clock)
    with TestClient(app) as client:
        yield Api(client, clock, tenant)
        assert client.portal is not None
        client.portal.call(redis.aclose)


def test_seller_reads_the_rejection_with_the_full_reason_behind_lihat_semua(
    api: Api, redis_url: str
) -> None:
    (n,) = decided(api.tenant, 1)
    seed(redis_url, [n])
    page = api.client.get("/v1/notifications", headers=api.auth()).json()
    (row,) = page["items"]
    assert row["title"] == "Pembatalan pickup ditolak" and row["read"] is False
    assert row["preview"].endswith("…") and LONG_REASON not in row["preview"]
    assert page["next_cursor"] is None
    full = api.client.get(f"/v1/notifications/{n.notification_id}", headers=api.auth()).json()
    assert (
        LONG_REASON in full["body"] and "Anda dapat mengajukan pembatalan kembali" in full["body"]
    )
    assert full["data"]["order_id"] == "ORD-1" and full["source_event_id"] == "evt-decided-1"
    english = api.client.get(
        f"/v1/notifications/{n.notification_id}", params={"locale": "en"}, headers=api.auth()
    ).json()
    assert english["locale"] == "en" and "You may request the cancellation again" in english["body"]


def test_reading_changes_the_unread_count(api: Api, redis_url: str) -> None:
    items = [x for i in range(1, 4) for x in decided(api.tenant, i)]
    seed(redis_url, items)
    h = api.auth()
    assert api.client.get("/v1/notifications/unread-count", headers=h).json() == {"unread": 3}
    assert (
        api.client.post(f"/v1/notifications/{items[0].notification_id}/read", headers=h).status_code
        == 204
    )
    assert api.client.get("/v1/notifications/unread-count", headers=h).json() == {"unread": 2}
    unread = api.client.get("/v1/notifications", params={"unread": True}, headers=h).json()
    assert {r["notification_id"] for r in unread["items"]} == {x.notification_id for x in items[1:]}
    assert api.client.post("/v1/notifications/read-all", headers=h).json() == {"marked_read": 2}
    assert api.client.get("/v1/notifications/unread-count", headers=h).json() == {"unread": 0}


def test_pages_walk_the_feed_newest_first(api: Api, redis_url: str) -> None:
    items = [x for i in range(1, 8) for x in decided(api.tenant, i)]
    seed(redis_url, items)
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/notifications", params=params, headers=api.auth()).json()
        seen += [row["notification_id"] for row in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [x.notification_id for x in reversed(items)]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "x"}])
def test_limit_is_bounded(api: Api, params: dict[str, object]) -> None:
    assert api.client.get("/v1/notifications", params=params, headers=api.auth()).status_code == 422


def test_a_forged_cursor_is_a_bad_request(api: Api) -> None:
    response = api.client.get("/v1/notifications", params={"cursor": "bm9wZQ"}, headers=api.auth())
    assert response.status_code == 400


def _every_endpoint(nid: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/v1/notifications"),
        ("GET", "/v1/notifications/unread-count"),
        ("POST", "/v1/notifications/read-all"),
        ("GET", f"/v1/notifications/{nid}"),
        ("POST", f"/v1/notifications/{nid}/read"),
        ("GET", "/v1/notifications/stream"),
        ("GET", "/v1/preferences"),
        ("PUT", "/v1/preferences"),
    ]


@pytest.mark.parametrize(
    "intruder",
    [("same-tenant", OTHER_SELLER), ("other-tenant", SELLER)],
    ids=["user-B", "tenant-B"],
)
def test_another_user_or_tenant_never_reaches_this_feed(
    api: Api, redis_url: str, intruder: tuple[str, str]
) -> None:
    (n,) = decided(api.tenant, 1)
    seed(redis_url, [n])
    where, user = intruder
    h = api.auth(user, api.tenant if where == "same-tenant" else f"{api.tenant}-b")
    nid = n.notification_id
    assert api.client.get("/v1/notifications", headers=h).json()["items"] == []
    assert (
        api.client.get("/v1/notifications", params={"unread": True}, headers=h).json()["items"]
        == []
    )
    assert api.client.get("/v1/notifications/unread-count", headers=h).json() == {"unread": 0}
    for method, path in (
        ("GET", f"/v1/notifications/{nid}"),
        ("POST", f"/v1/notifications/{nid}/read"),
    ):
        response = api.client.request(method, path, headers=h)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": "notification not found"}
    assert (
        api.client.get(f"/v1/notifications/{nid}", params={"locale": "en"}, headers=h).status_code
        == 404
    )
    assert api.client.post("/v1/notifications/read-all", headers=h).json() == {"marked_read": 0}
    # The owner's feed is untouched by all of the above.
    owner = api.client.get(f"/v1/notifications/{nid}", headers=api.auth()).json()
    assert owner["read"] is False
    assert api.client.get("/v1/notifications/unread-count", headers=api.auth()).json() == {
        "unread": 1
    }


def test_an_unknown_id_looks_the_same_as_someone_elses(api: Api) -> None:
    for nid in ("00000000-0000-5000-8000-000000000000", "x" * 300, "a b"):
        response = api.client.get(f"/v1/notifications/{nid}", headers=api.auth())
        assert response.status_code == 404 and response.json() == {
            "detail": "notification not found"
        }


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer "
        + issue_token(
            TokenKeys.of("some-other-secret-0123456789abcdef"),
            "t",
            SELLER,
            timedelta(hours=1),
            NOW,
        ),
    ],
    ids=["missing", "basic", "garbage", "foreign-secret"],
)
def test_without_a_valid_token_every_endpoint_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in _every_endpoint("00000000-0000-5000-8000-000000000000"):
        response = api.client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


def test_an_expired_token_is_401(api: Api, redis_url: str) -> None:
    (n,) = decided(api.tenant, 1)
    seed(redis_url, [n])
    h = api.auth()
    assert api.client.get("/v1/notifications", headers=h).status_code == 200
    api.clock.now = NOW + timedelta(hours=1, seconds=1)
    for method, path in _every_endpoint(n.notification_id):
        assert api.client.request(method, path, headers=h).status_code == 401, (method, path)


def test_health_metrics_and_openapi(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    api.client.get("/v1/notifications", headers=api.auth())
    metrics = api.client.get("/metrics").text
    assert (
        'lunas_feed_api_requests_total{method="GET",route="/v1/notifications",status="200"} 1.0'
        in metrics
    )
    spec = api.client.get("/openapi.json").json()
    listing = spec["paths"]["/v1/notifications"]["get"]
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/NotificationPage"}
    assert {"401", "400"} <= set(listing["responses"])
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    stream = spec["paths"]["/v1/notifications/stream"]["get"]["responses"]
    assert "text/event-stream" in stream["200"]["content"]
    assert {"401", "429", "503"} <= set(stream)


def test_health_reports_redis_down() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    app = feed_app(redis, KEYS, Clock(NOW))
    with TestClient(app) as client:
        response = client.get("/healthz")
        ready, live = client.get("/readyz"), client.get("/livez")
        stream = client.get("/v1/notifications/stream", headers=Api(client, Clock(NOW), "t").auth())
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
    assert live.status_code == 200 and live.json() == {"status": "ok"}  # nothing to restart
    # No subscription to deliver from: the stream is refused for now, not opened dead.
    assert stream.status_code == 503 and stream.headers["retry-after"] == "5"


def test_a_reader_chooses_english_and_reads_english_until_asked_otherwise(
    api: Api, redis_url: str
) -> None:
    (n,) = decided(api.tenant, 1)
    seed(redis_url, [n])
    h = api.auth()
    assert api.client.get("/v1/preferences", headers=h).json() == {"locale": "id"}
    chosen = api.client.put("/v1/preferences", json={"locale": "en"}, headers=h)
    assert chosen.status_code == 200 and chosen.json() == {"locale": "en"}
    assert api.client.get("/v1/preferences", headers=h).json() == {"locale": "en"}
    (row,) = api.client.get("/v1/notifications", headers=h).json()["items"]
    assert (row["locale"], row["title"]) == ("en", "Pickup cancellation rejected")
    full = api.client.get(f"/v1/notifications/{n.notification_id}", headers=h).json()
    assert "You may request the cancellation again" in full["body"]
    asked = api.client.get(
        f"/v1/notifications/{n.notification_id}", params={"locale": "id"}, headers=h
    ).json()
    assert asked["locale"] == "id" and asked["title"] == "Pembatalan pickup ditolak"
    # The choice is this reader's: the same user in another tenant still reads Indonesian.
    elsewhere = api.auth(tenant=f"{api.tenant}-b")
    assert api.client.get("/v1/preferences", headers=elsewhere).json() == {"locale": "id"}


@pytest.mark.parametrize(
    "body", [{"locale": "fr"}, {"locale": None}, {}, {"locale": "en", "theme": "dark"}, ["en"]]
)
def test_a_preference_outside_the_contract_is_refused_and_nothing_changes(
    api: Api, body: object
) -> None:
    h = api.auth()
    assert api.client.put("/v1/preferences", json=body, headers=h).status_code == 422
    assert api.client.get("/v1/preferences", headers=h).json() == {"locale": "id"}


def test_the_openapi_document_describes_the_preferences() -> None:
    app = feed_app(Redis(), KEYS, Clock(NOW))
    spec = app.openapi()
    put = spec["paths"]["/v1/preferences"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Preferences"}
    assert {"200", "401", "422"} <= set(put["responses"])
    model = spec["components"]["schemas"]["Preferences"]
    assert model["properties"]["locale"]["enum"] == ["id", "en"]
    assert model["additionalProperties"] is False and model["required"] == ["locale"]
