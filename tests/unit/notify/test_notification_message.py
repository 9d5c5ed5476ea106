"""The `notification.created` record notify_svc produces is `encode(notification_event(...))`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Envelope, MessageInvalid, decode, encode, kafka_key
from schemas.examples import EXAMPLES_DIR
from services.notify_svc.handling import notification_event, notification_message
from services.notify_svc.model import LOCALES, Notification
from tests.unit.schemas.strategies import FREE_JSON

(DECIDED_PATH,) = (EXAMPLES_DIR / "pickup_cancel_reject").glob("*_pickup.cancel.decided.json")
DECIDED = json.loads(DECIDED_PATH.read_bytes())
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60)


def cause(tracestate: str | None) -> Envelope:
    message = dict(DECIDED, traceparent="00-" + "ab" * 16 + "-" + "cd" * 8 + "-01")
    if tracestate is not None:
        message["tracestate"] = tracestate
    return decode(json.dumps(message).encode())


notifications = st.builds(
    Notification,
    notification_id=st.uuids().map(str),
    tenantid=st.sampled_from(["seller-clodeo-77", "bench-shop-1", "t.x/y-z"]),
    recipient=st.sampled_from(["user:seller-1", "tenant:shop", "admin:ani", "a@b.c"]),
    kind=st.sampled_from(["pickup_cancel_approved", "command_rejected", "payment_bounced"]),
    title=TEXT.filter(lambda t: t.strip() and len(t.strip()) <= 100),
    body=TEXT.filter(lambda t: t.strip()),
    locale=st.sampled_from(LOCALES),
    data=st.dictionaries(st.text(max_size=6), FREE_JSON, max_size=5),
    created_at=st.datetimes(
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=7)), timezone(-timedelta(hours=5))]
        )
    ),
    source_event_id=st.sampled_from(["evt-1", 'd3c1-"quoted"', "x" * 128]),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notifications, st.sampled_from([None, "vendor=1", "a=1,b=2 "]))
def test_the_record_is_the_validated_events_bytes(made: Notification, state: str | None) -> None:
    caused_by = cause(state)
    event = notification_event(made, cause=caused_by)
    assert notification_message(made, cause=caused_by) == (kafka_key(event), encode(event))


def test_a_recipient_the_contract_refuses_fails_as_it_did() -> None:
    made = Notification(
        "n-1",
        "shop",
        "user:has space",
        "command_rejected",
        "T",
        "B",
        "id",
        {},
        datetime(2024, 5, 6, tzinfo=UTC),
        "evt-1",
    )
    with pytest.raises(MessageInvalid) as new:
        notification_message(made, cause=cause(None))
    with pytest.raises(MessageInvalid) as old:
        notification_event(made, cause=cause(None))
    assert str(new.value) == str(old.value) and "data.recipient" in str(new.value)
