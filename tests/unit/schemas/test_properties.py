"""Property tests: valid messages round-trip byte-stably; bad ones fail as MessageInvalid only."""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from schemas import MessageInvalid, decode, encode
from schemas.fields import Kind
from schemas.registry import COMMAND_TYPES, MODELS, is_command
from tests.unit.schemas.strategies import FREE_JSON, valid_message

MANY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def raw(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def refusal(value: bytes | None, **kwargs: Any) -> MessageInvalid:
    with pytest.raises(MessageInvalid) as caught:
        decode(value, **kwargs)
    assert caught.value.errors, "a refusal must name at least one problem"
    return caught.value


def locs(error: MessageInvalid) -> list[str]:
    return [e.loc for e in error.errors]


def _kind(type_: str, field: str) -> str | None:
    info = MODELS[type_].model_fields[field]
    return next((m.name for m in info.metadata if isinstance(m, Kind)), None)


MONEY_FIELDS = [
    (type_, name)
    for type_ in sorted(MODELS)
    for name in MODELS[type_].model_fields
    if _kind(type_, name) == "money"
]


@MANY
@given(valid_message())
def test_every_valid_message_round_trips_byte_stably(message: dict[str, Any]) -> None:
    env = decode(raw(message))
    first = encode(env)
    again = decode(first)
    assert encode(again) == first
    assert again == env
    assert (env.type, env.subject, env.tenantid) == (
        message["type"],
        message["subject"],
        message["tenantid"],
    )


@MANY
@given(st.sampled_from(MONEY_FIELDS), st.sampled_from(["float", "3dp", "neg", "huge"]), st.data())
def test_bad_money_is_refused_at_its_field(
    target: tuple[str, str], defect: str, data: st.DataObject
) -> None:
    type_, field = target
    message = data.draw(valid_message(types_=(type_,)))
    bad = {"float": 1250.5, "3dp": "10.123", "neg": "-10.00", "huge": "10000000000000.01"}[defect]
    message["data"][field] = bad
    error = refusal(raw(message))
    assert error.reason == "schema"
    assert f"data.{field}" in locs(error)


_WRONG: list[Any] = [1.5, True, [], {}, 12345, "not-a-thing-@@", None]


@MANY
@given(valid_message(), st.data())
def test_a_wrong_value_in_any_data_field_is_refused_at_that_field(
    message: dict[str, Any], data: st.DataObject
) -> None:
    model = MODELS[message["type"]]
    field = data.draw(st.sampled_from(sorted(model.model_fields)))
    wrong = data.draw(st.sampled_from(_WRONG))
    mutated = copy.deepcopy(message)
    mutated["data"][field] = wrong
    try:
        decode(raw(mutated))
    except MessageInvalid as error:
        related = (f"data.{field}", "data.allocations" if field == "amount" else "-")
        assert any(loc.startswith(related) for loc in locs(error)), (field, wrong, str(error))
        assert error.reason in ("schema", "subject_mismatch")
        return
    # Accepted only where the wrong-looking value is in fact allowed by the contract.
    assert _acceptable(model.model_fields[field], _kind(message["type"], field), wrong)


def _optional_kind(annotation: Any) -> str | None:
    """The ``Kind`` of ``X`` in an optional field ``X | None`` (its metadata sits on ``X``)."""
    for arg in typing.get_args(annotation):
        for meta in getattr(arg, "__metadata__", ()):
            if isinstance(meta, Kind):
                return meta.name
    return None


def _all_defaults(annotation: Any) -> bool:
    """A model (or optional model) every field of which has a default: ``{}`` is one of them."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return all(not f.is_required() for f in arg.model_fields.values())
    return False


def _acceptable(info: FieldInfo, kind: str | None, value: Any) -> bool:
    annotation = info.annotation
    if value is None:
        return kind == "reason?" or type(None) in typing.get_args(annotation)
    if value == [] and not isinstance(value, dict):
        return typing.get_origin(annotation) is list
    if value == {}:
        return typing.get_origin(annotation) is dict or _all_defaults(annotation)
    if value == 12345:
        return kind in ("money", "money0") or _optional_kind(annotation) in ("money", "money0")
    if value == "not-a-thing-@@":
        texts = ("reason", "reason?", "text:100", "text:2000")
        return kind in texts or info.metadata != [] or _optional_kind(annotation) in texts
    return False


@MANY
@given(
    valid_message(),
    st.sampled_from(["specversion", "id", "type", "source", "time", "subject", "tenantid", "data"]),
)
def test_a_missing_required_attribute_is_named(message: dict[str, Any], attribute: str) -> None:
    del message[attribute]
    error = refusal(raw(message))
    assert error.reason == "schema"
    assert attribute in locs(error)


@MANY
@given(valid_message(types_=tuple(sorted(COMMAND_TYPES))))
def test_commands_need_an_actor(message: dict[str, Any]) -> None:
    del message["actor"]
    error = refusal(raw(message))
    assert "actor" in locs(error)


@MANY
@given(valid_message(), st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}", fullmatch=True))
def test_an_unknown_type_is_refused_as_such(message: dict[str, Any], type_: str) -> None:
    if type_ in MODELS:
        return
    message["type"] = type_
    assert refusal(raw(message)).reason == "unknown_type"


@MANY
@given(valid_message(), st.from_regex(r"x_[a-z]{1,10}", fullmatch=True), FREE_JSON)
def test_extra_fields_are_refused_in_commands_and_ignored_in_events(
    message: dict[str, Any], name: str, value: Any
) -> None:
    plain = encode(decode(raw(message)))
    message["data"][name] = value
    if is_command(message["type"]):
        error = refusal(raw(message))
        assert error.reason == "schema"
        assert f"data.{name}" in locs(error)
    else:
        assert encode(decode(raw(message))) == plain


@MANY
@given(valid_message(), st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True))
def test_lowercase_extension_attributes_are_tolerated(message: dict[str, Any], name: str) -> None:
    if name in message or name in ("actor", "correlationid", "causationid", "datacontenttype"):
        return
    plain = encode(decode(raw(message)))
    message[name] = "ext"
    assert encode(decode(raw(message))) == plain


@MANY
@given(valid_message(types_=tuple(sorted(COMMAND_TYPES))), st.sampled_from(["Trace", "x-y", "a_b"]))
def test_other_envelope_attributes_are_refused_in_commands(
    message: dict[str, Any], name: str
) -> None:
    message[name] = "v"
    error = refusal(raw(message))
    assert name in locs(error)


@MANY
@given(
    valid_message(
        types_=tuple(t for t in sorted(MODELS) if t not in ("command.rejected", "command.waiting"))
    )
)
def test_subject_must_equal_the_aggregate_id(message: dict[str, Any]) -> None:
    subject = message["subject"]
    message["subject"] = ("T" if subject[0] == "S" else "S") + subject[1:]
    error = refusal(raw(message))
    assert error.reason == "subject_mismatch"
    assert locs(error) == ["subject"]


@MANY
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_message_invalid(value: bytes) -> None:
    try:
        decode(value)
    except MessageInvalid as error:
        assert error.reason in ("not_json", "not_object", "unknown_type", "schema")


@MANY
@given(FREE_JSON.filter(lambda v: not isinstance(v, dict)))
def test_json_that_is_not_an_object_is_refused(value: Any) -> None:
    assert refusal(json.dumps(value).encode()).reason == "not_object"


@MANY
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "specversion",
                "id",
                "type",
                "source",
                "time",
                "subject",
                "tenantid",
                "actor",
                "data",
                "datacontenttype",
            ]
        ),
        st.one_of(FREE_JSON, st.sampled_from(sorted(MODELS)), st.floats()),
    )
)
def test_envelope_shaped_garbage_is_refused_field_by_field(value: dict[str, Any]) -> None:
    try:
        body = json.dumps(value).encode()
    except ValueError:
        return
    try:
        decode(body)
    except MessageInvalid:
        return


@settings(max_examples=50, deadline=None)
@given(valid_message())
def test_oversized_records_are_refused_before_parsing(message: dict[str, Any]) -> None:
    body = raw(message)
    assert refusal(body, max_bytes=len(body) - 1).reason == "too_large"
