"""`encode_event` is `encode(make_event(...))`: the same bytes, or the same refusal, always."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Envelope, MessageInvalid, decode, encode, encode_event, make_event
from schemas.registry import MODELS
from tests.unit.schemas.strategies import FREE_JSON, valid_message

MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_HEX = "0123456789abcdef"
TRACEPARENTS = st.tuples(
    st.text(_HEX, min_size=32, max_size=32), st.text(_HEX, min_size=16, max_size=16)
).map(lambda ids: f"00-{ids[0]}-{ids[1]}-01")
TRACESTATES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@st.composite
def causes(draw: st.DrawFn) -> Envelope | None:
    """None, or a received message (with or without a trace context) that causes another."""
    if draw(st.booleans()):
        return None
    message = draw(valid_message())
    if draw(st.booleans()):
        message["traceparent"] = draw(TRACEPARENTS)
        message["tracestate"] = draw(TRACESTATES)
    return decode(json.dumps(message).encode())


def arguments(message: dict[str, Any], cause: Envelope | None) -> dict[str, Any]:
    """`make_event`'s arguments for the message `message` describes, caused by `cause`."""
    return {
        "type": message["type"],
        "data": message["data"],
        "id": message["id"],
        "source": message["source"],
        "time": datetime.fromisoformat(message["time"]),
        "tenantid": message["tenantid"],
        "subject": message["subject"],
        "cause": cause,
        "actor": message.get("actor"),
    }


def outcome(build: Callable[..., bytes], kwargs: dict[str, Any]) -> bytes | tuple[str, str]:
    """The bytes built, or the refusal's reason and full text."""
    try:
        return build(**kwargs)
    except MessageInvalid as error:
        return error.reason, str(error)


def legacy(**kwargs: Any) -> bytes:
    return encode(make_event(**kwargs))


@MANY
@given(valid_message(), causes())
def test_a_valid_message_is_the_same_bytes(message: dict[str, Any], cause: Envelope | None) -> None:
    kwargs = arguments(message, cause)
    expected = legacy(**kwargs)
    # Built around the payload, not by validating the whole message again.
    with mock.patch("schemas.emitting.make_event", side_effect=AssertionError("validated again")):
        assert encode_event(**kwargs) == expected


_WRONG: list[Any] = [1.5, True, [], {}, 12345, "not-a-thing-@@", None, "  ", "x" * 2001]


@MANY
@given(valid_message(), causes(), st.data())
def test_a_wrong_payload_value_is_refused_word_for_word(
    message: dict[str, Any], cause: Envelope | None, data: st.DataObject
) -> None:
    kwargs = arguments(copy.deepcopy(message), cause)
    field = data.draw(st.sampled_from(sorted(MODELS[message["type"]].model_fields)))
    kwargs["data"][field] = data.draw(st.sampled_from(_WRONG))
    assert outcome(encode_event, kwargs) == outcome(legacy, kwargs)


@MANY
@given(valid_message(), causes(), st.from_regex(r"x_[a-z]{1,10}", fullmatch=True), FREE_JSON)
def test_an_unknown_payload_field_is_refused_word_for_word(
    message: dict[str, Any], cause: Envelope | None, name: str, value: Any
) -> None:
    kwargs = arguments(copy.deepcopy(message), cause)
    kwargs["data"][name] = value
    assert outcome(encode_event, kwargs) == outcome(legacy, kwargs)


_BAD_ATTRIBUTES: list[tuple[str, Any]] = [
    ("id", ""),
    ("id", "with space"),
    ("id", "x" * 129),
    ("source", "has space"),
    ("source", "/svc/\n"),
    ("tenantid", "T\n"),
    ("tenantid", "shop@1"),
    ("subject", "SUBJ-OTHER"),
    ("subject", "a\n"),
    ("actor", "root"),
    ("actor", "user:a\n"),
    ("type", "pickup.exploded"),
    ("type", "Not A Type"),
    ("time", datetime(2024, 5, 6, 10, 0)),
    ("time", "2024-05-06T10:00:00Z"),
]


@MANY
@given(valid_message(), causes(), st.sampled_from(_BAD_ATTRIBUTES))
def test_a_bad_attribute_is_refused_word_for_word(
    message: dict[str, Any], cause: Envelope | None, bad: tuple[str, Any]
) -> None:
    kwargs = arguments(copy.deepcopy(message), cause)
    name, value = bad
    kwargs[name] = value
    assert outcome(encode_event, kwargs) == outcome(legacy, kwargs)
