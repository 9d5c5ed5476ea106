"""decode/encode/make_event on concrete messages: what an upstream developer sees when wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from schemas import (
    CONTENT_TYPE_HEADER,
    MessageInvalid,
    decode,
    derive_id,
    encode,
    kafka_key,
    make_event,
    topics,
)
from schemas.payment import PaymentCancel

T0 = datetime(2023, 8, 21, 10, 0, tzinfo=timezone(timedelta(hours=7)))


def giro_record(**data: Any) -> dict[str, Any]:
    payload = {
        "payment_no": "PR-230800811",
        "customer_id": "CUST-1188",
        "method": "giro",
        "amount": "30878568.81",
        "payment_date": "2023-08-21",
        "giro": {"number": "BG-0045521", "bank": "BRI", "due_date": "2023-08-21"},
        "allocations": [{"invoice_no": "INV-230800511", "amount": "30878568.81"}],
    }
    payload.update(data)
    return {
        "specversion": "1.0",
        "id": "bo-1",
        "type": "payment.record",
        "source": "/backoffice",
        "time": "2023-08-21T10:00:00+07:00",
        "subject": "PR-230800811",
        "tenantid": "dist-1",
        "actor": "admin:ani",
        "data": payload,
    }


def refused(message: Any) -> MessageInvalid:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    with pytest.raises(MessageInvalid) as caught:
        decode(body)
    return caught.value


def test_a_giro_payment_decodes_to_exact_money_and_dates() -> None:
    env = decode(json.dumps(giro_record()).encode(), [CONTENT_TYPE_HEADER])
    data = env.data_dict()
    assert data["amount"] == "30878568.81"
    assert env.data.amount == Decimal("30878568.81")  # type: ignore[attr-defined]
    assert data["giro"]["due_date"] == "2023-08-21"
    assert data["channel"] == "web" and data["currency"] == "IDR"
    assert kafka_key(env) == b"dist-1:PR-230800811"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("10.123", 'data.amount: at most 2 decimal places, got "10.123"'),
        (10.5, "data.amount: money must be a JSON string or integer, not a number, got 10.5"),
        ("-5", 'data.amount: must be > 0, got "-5"'),
        ("0.00", 'data.amount: must be > 0, got "0.00"'),
        ("1e3", 'data.amount: must be a decimal amount like "1250.50", got "1e3"'),
        (10**13 + 1, "data.amount: at most 10000000000000, got 10000000000001"),
    ],
)
def test_bad_money_is_explained_at_the_field(amount: Any, message: str) -> None:
    error = refused(giro_record(amount=amount, allocations=[]))
    assert error.reason == "schema"
    assert message in str(error)


def test_money_is_always_written_with_two_decimals() -> None:
    env = decode(json.dumps(giro_record(amount=100, allocations=[])).encode())
    assert b'"amount":"100.00"' in encode(env)


def test_giro_details_are_required_exactly_for_giro_and_cheque() -> None:
    assert "data.giro: required for method cheque" in str(
        refused(giro_record(method="cheque", giro=None))
    )
    cash = refused(giro_record(method="cash"))
    assert [e.loc for e in cash.errors] == ["data.giro"]


def test_allocations_may_not_exceed_the_amount_nor_repeat_an_invoice() -> None:
    over = refused(
        giro_record(amount="100.00", allocations=[{"invoice_no": "A", "amount": "100.01"}])
    )
    assert "data.allocations: allocations total 100.01 exceeds the payment amount 100.00" in str(
        over
    )
    twice = refused(
        giro_record(
            amount="100.00",
            allocations=[{"invoice_no": "A", "amount": "1"}, {"invoice_no": "A", "amount": "2"}],
        )
    )
    assert [e.loc for e in twice.errors] == ["data.allocations[1].invoice_no"]


def test_every_problem_is_reported_at_once() -> None:
    message = giro_record(payment_date="21-08-2023", customer_id="1188 MINI MARKET")
    del message["tenantid"]
    error = refused(message)
    assert {e.loc for e in error.errors} == {"tenantid", "data.payment_date", "data.customer_id"}


def test_the_subject_must_name_the_aggregate() -> None:
    message = giro_record()
    message["subject"] = "PR-999"
    error = refused(message)
    assert error.reason == "subject_mismatch"
    assert str(error) == (
        'subject_mismatch: subject: must equal data.payment_no "PR-230800811", got "PR-999"'
    )


@pytest.mark.parametrize("actor", ["ani", "admin:", "root:ani", "system:Payment", "user:a b"])
def test_actor_must_be_user_admin_or_system(actor: str) -> None:
    message = giro_record()
    message["actor"] = actor
    assert [e.loc for e in refused(message).errors] == ["actor"]


def test_reasons_are_trimmed_and_required_reasons_may_not_be_blank() -> None:
    cancel = {
        **giro_record(),
        "type": "pickup.cancel.requested",
        "subject": "ORD-1",
        "actor": "user:seller-77",
        "data": {"order_id": "ORD-1", "reason": "   ", "origin": "order"},
    }
    assert "data.reason: must not be blank" in str(refused(cancel))
    cancel["data"]["reason"] = "  Pembeli ganti alamat  "
    assert decode(json.dumps(cancel).encode()).data_dict()["reason"] == "Pembeli ganti alamat"
    cancel["data"]["reason"] = "x" * 501
    assert "data.reason: at most 500 characters, got 501" in str(refused(cancel))


def test_a_rejection_needs_a_reason_but_an_approval_does_not() -> None:
    decide = {
        **giro_record(),
        "type": "pickup.cancel.decide",
        "subject": "ORD-1",
        "data": {"order_id": "ORD-1", "decision": "reject"},
    }
    assert "data.reason: required when the decision is reject" in str(refused(decide))
    decide["data"]["decision"] = "approve"
    assert decode(json.dumps(decide).encode()).data_dict() == {
        "order_id": "ORD-1",
        "decision": "approve",
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not_json"),
        (b"{not json", "not_json"),
        (b'{"id": NaN}', "not_json"),
        (b'{"id": "a", "id": "b"}', "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[" * 50_000, "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"payment.record"', "not_object"),
    ],
)
def test_records_that_are_not_a_json_object_are_refused(body: bytes, reason: str) -> None:
    assert refused(body).reason == reason


def test_a_tombstone_and_an_oversized_record_are_refused() -> None:
    with pytest.raises(MessageInvalid) as tombstone:
        decode(None)
    assert tombstone.value.reason == "not_json"
    with pytest.raises(MessageInvalid) as big:
        decode(b"{" + b" " * 2_000_000 + b"}")
    assert big.value.reason == "too_large"


def test_a_foreign_content_type_is_refused() -> None:
    with pytest.raises(MessageInvalid) as caught:
        decode(json.dumps(giro_record()).encode(), [("content-type", "application/avro")])
    assert caught.value.errors[0].loc == "headers.content-type"


def test_binary_mode_cloudevents_are_accepted() -> None:
    message = giro_record()
    headers = [(f"ce_{k}", str(v)) for k, v in message.items() if k != "data"]
    headers.append(("content-type", b"application/json"))
    env = decode(json.dumps(message["data"]).encode(), headers)
    assert encode(env) == encode(decode(json.dumps(message).encode()))


def test_make_event_links_the_cause_and_refuses_what_decode_would() -> None:
    command = decode(json.dumps(giro_record()).encode())
    cancel = make_event(
        "payment.cancel",
        PaymentCancel(payment_no="PR-230800811", reason_code="giro_bounced"),
        id=derive_id(command.id, "payment.cancel"),
        source="/svc/payment",
        time=T0,
        tenantid="dist-1",
        subject="PR-230800811",
        cause=command,
        actor="system:payment",
    )
    assert (cancel.causationid, cancel.correlationid) == ("bo-1", "bo-1")
    assert decode(encode(cancel)) == cancel
    with pytest.raises(MessageInvalid) as caught:
        make_event(
            "payment.confirmed",
            {"payment_no": "P-1", "surprise": 1},
            id="e-1",
            source="/svc/payment",
            time=datetime(2023, 8, 21, 3, 0),  # naive: no offset
            tenantid="dist-1",
            subject="P-1",
        )
    locs = {e.loc for e in caught.value.errors}
    assert {"time", "data.surprise", "data.status", "data.amount"} <= locs


def test_utc_times_are_written_with_z_and_offsets_are_kept() -> None:
    message = giro_record()
    message["time"] = "2023-08-21T03:00:00.123456789+00:00"
    assert b'"time":"2023-08-21T03:00:00.123456Z"' in encode(decode(json.dumps(message).encode()))
    env = make_event(
        "payment.confirm",
        {"payment_no": "P-1"},
        id="c-1",
        source="/x",
        time=T0,
        tenantid="t",
        subject="P-1",
        actor="admin:a",
    )
    assert b'"time":"2023-08-21T10:00:00+07:00"' in encode(env)
    assert env.time == T0.astimezone(UTC)


def test_derived_ids_are_stable_and_distinct_per_purpose() -> None:
    assert derive_id("req-1", "invoice.void") == derive_id("req-1", "invoice.void")
    assert derive_id("req-1", "invoice.void") != derive_id("req-1", "payment.release/P-1")
    assert derive_id("req-1", "invoice.void") != derive_id("req-2", "invoice.void")


def test_each_topic_has_a_dead_letter_topic() -> None:
    assert len(topics.ALL_TOPICS) == 7
    assert topics.dlq_topic(topics.PICKUP_EVENTS) == "pickup.events.dlq"
