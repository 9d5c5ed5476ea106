"""Property run over the feed API's own OpenAPI document: no request ever gets a 5xx.

A schemathesis-style fuzz written with hypothesis (schemathesis is not a dependency): every
operation in `app.openapi()` is called with parameters and a JSON body drawn from its declared
schemas (plus values that break them), with no token, garbage, expired, other-tenant and valid
tokens, against a feed in real Redis that holds notifications. Refusals (401, 404, 400, 422) are
fine; a 5xx, or a status the document does not declare, is a bug.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from services.notify_svc.feed_store import FeedStore
from services.notify_svc.model import Notification, derive_notification_id
from services.notify_svc.tokens import TokenKeys, issue_token
from tests.integration.notify.apps import feed_app

pytestmark = pytest.mark.integration

SECRET = "fuzz-test-secret-0123456789abcdef"
KEYS = TokenKeys.of(SECRET)
TENANT, READER = "fuzz-tenant", "user:seller-fuzz"
T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


class SteppingClock:
    """Each reading is 20 minutes after the last: an SSE stream's token expires within a few
    heartbeats, so streaming requests end by themselves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=20)
        return self.now


def _notification(n: int) -> Notification:
    return Notification(
        notification_id=derive_notification_id(TENANT, f"fuzz-evt-{n}", READER),
        tenantid=TENANT,
        recipient=READER,
        kind="pickup_cancel_rejected" if n % 2 else "pickup_cancel_approved",
        title="Pembatalan pickup ditolak",
        body=f"Pembatalan pickup untuk order ORD-{n} ditolak admin. Alasan: stok habis.",
        locale="id",
        data={"order_id": f"ORD-{n}", "reason": "stok habis", "decision": "reject"},
        created_at=T0 + timedelta(minutes=n),
        source_event_id=f"fuzz-evt-{n}",
    )


@dataclass
class Target:
    client: TestClient
    clock: SteppingClock
    ids: list[str]
    cursors: list[str]


@pytest.fixture(scope="module")
def target(redis_url: str) -> Iterator[Target]:
    redis = Redis.from_url(redis_url)
    store = FeedStore(redis)
    clock = SteppingClock()
    app = feed_app(redis, KEYS, clock, heartbeat_seconds=0.01)
    items = [_notification(n) for n in range(12)]
    with TestClient(app) as client:
        assert client.portal is not None
        for item in items:
            client.portal.call(store.add, item)
        token = issue_token(KEYS, TENANT, READER, timedelta(hours=1), clock.now)
        page = client.get(
            "/v1/notifications", params={"limit": 5}, headers={"Authorization": f"Bearer {token}"}
        ).json()
        yield Target(client, clock, [i.notification_id for i in items], [page["next_cursor"]])
        client.portal.call(_forget_feeds, redis)  # leave the session's Redis as we found it
        client.portal.call(redis.aclose)


async def _forget_feeds(redis: Redis) -> None:
    keys = [
        key
        for prefix in ("lunas:feed:", "lunas:prefs:")
        async for key in redis.scan_iter(match=f"{prefix}{{{TENANT}:*")
    ]
    if keys:
        await redis.delete(*keys)


def _document() -> dict[str, Any]:
    app = feed_app(Redis(), KEYS, SteppingClock())
    return app.openapi()


DOCUMENT = _document()
OPERATIONS = [
    (method, path, op) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()
]
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
ASCII = st.text(alphabet=string.printable.strip() + " ", max_size=80)
TEXT = st.text(max_size=60)
# base64url of "", a short member, a member with a time but a bad id, and a valid-looking one.
ODD_CURSORS = ["", "AAAA", "MDAwMDAwMDAwMDAwMDAwOng", "MDAwMDAwMDAwMDAwMDAwOg"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def _value(schema: dict[str, Any], known: list[str]) -> st.SearchStrategy[Any]:
    """Values a schema allows, values near its edges, and values it refuses."""
    if "anyOf" in schema:
        return st.one_of([_value(s, known) for s in schema["anyOf"] if s.get("type") != "null"])
    wrong: st.SearchStrategy[Any] = TEXT
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), wrong)
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)
        return st.one_of(st.integers(low - 3, high + 3), st.integers(), wrong)
    if kind == "boolean":
        return st.one_of(st.booleans(), st.sampled_from(["1", "0", "yes", "no", "maybe"]))
    longest = int(schema.get("maxLength", 300)) + 5
    return st.one_of(st.sampled_from(known), st.text(max_size=longest), ASCII) if known else TEXT


def _body(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Objects the body schema allows (each property from its schema), and any other JSON."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") != "object":
        return JSON
    props = {name: _value(sub, []) for name, sub in schema.get("properties", {}).items()}
    return st.one_of(st.fixed_dictionaries(props), st.dictionaries(TEXT, JSON, max_size=3), JSON)


@st.composite
def _request(
    draw: st.DrawFn, op: dict[str, Any], path: str, target: Target
) -> tuple[str, dict[str, Any], dict[str, str], Any]:
    params: dict[str, Any] = {}
    url = path
    for param in op.get("parameters", []):
        known = {"notification_id": target.ids, "cursor": [*target.cursors, *ODD_CURSORS]}.get(
            param["name"], []
        )
        if param["in"] == "path":
            value = draw(_value(param["schema"], known))
            url = url.replace(f"{{{param['name']}}}", quote(str(value), safe="") or "%20")
        elif draw(st.booleans()):
            params[param["name"]] = draw(_value(param["schema"], known))
    declared = op.get("requestBody", {}).get("content", {}).get("application/json")
    body = draw(_body(declared["schema"])) if declared and draw(st.integers(0, 9)) else None
    now = target.clock.now
    auth = draw(
        # "valid" first: hypothesis leans towards the first choice, and most code is behind it.
        st.sampled_from(["valid", "valid", "none", "other-tenant", "expired", "garbage", "scheme"])
    )
    headers: dict[str, str] = {}
    if auth == "valid":
        # A drawn lifetime makes valid tokens distinct examples (hypothesis never repeats one).
        ttl = timedelta(minutes=draw(st.integers(30, 24 * 60)))
        headers["Authorization"] = "Bearer " + issue_token(KEYS, TENANT, READER, ttl, now)
    elif auth == "other-tenant":
        headers["Authorization"] = "Bearer " + issue_token(
            KEYS, "someone-else", READER, timedelta(hours=1), now
        )
    elif auth == "expired":
        headers["Authorization"] = "Bearer " + issue_token(
            KEYS, TENANT, READER, timedelta(minutes=1), now - timedelta(hours=2)
        )
    elif auth == "garbage":
        headers["Authorization"] = "Bearer " + draw(ASCII)
    elif auth == "scheme":
        headers["Authorization"] = draw(ASCII)
    return url, params, headers, body


@pytest.mark.parametrize(
    ("method", "path", "op"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p, _ in OPERATIONS]
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_request_to_any_documented_operation_gets_a_5xx(
    target: Target, method: str, path: str, op: dict[str, Any], data: st.DataObject
) -> None:
    url, params, headers, body = data.draw(_request(op, path, target))
    response = target.client.request(method.upper(), url, params=params, headers=headers, json=body)
    event(f"status {response.status_code}")  # --hypothesis-show-statistics shows the spread
    assert response.status_code < 500, (method, url, params, headers, response.text[:500])
    # 404/405 also come from the router when a drawn id decodes to another path ("a/read").
    expected = {int(code) for code in op["responses"] if code.isdigit()} | {404, 405, 422}
    assert response.status_code in expected, (response.status_code, sorted(expected))
    # Without a token nothing is revealed, not even whether an id exists (an id holding "/"
    # is a different path, which the router refuses before any endpoint runs).
    if path.startswith("/v1/") and "Authorization" not in headers and "%2F" not in url:
        assert response.status_code == 401


def test_the_fuzz_covers_every_operation_of_the_document() -> None:
    assert {(m, p) for m, p, _ in OPERATIONS} >= {
        ("get", "/v1/notifications"),
        ("get", "/v1/notifications/{notification_id}"),
        ("post", "/v1/notifications/{notification_id}/read"),
        ("post", "/v1/notifications/read-all"),
        ("get", "/v1/notifications/unread-count"),
        ("get", "/v1/notifications/stream"),
        ("get", "/healthz"),
        ("get", "/v1/preferences"),
        ("put", "/v1/preferences"),
    }
