"""The CloudEvents envelope of every message, and the codec between it and Kafka records.

`decode` is the only way a consumer turns a record into a typed message; anything it cannot accept
raises `MessageInvalid` (and nothing else), naming the fields at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)

from schemas.errors import FieldError, MessageInvalid, Reason, field_errors
from schemas.fields import (
    Actor,
    EventId,
    Id,
    Timestamp,
)
from schemas.registry import MODELS, aggregate_field, is_command
from schemas.tracing import (
    Traceparent,
    Tracestate,
)

__all__ = [
    "CONTENT_TYPE_HEADER",
    "MAX_BYTES",
    "Envelope",
    "FieldError",
    "MessageInvalid",
    "decode",
]

MAX_BYTES = 1_048_576
CONTENT_TYPE = "application/cloudevents+json"
CONTENT_TYPE_HEADER: tuple[str, bytes] = ("content-type", CONTENT_TYPE.encode())
DATA_CONTENT_TYPE = "application/json"
TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
SOURCE_PATTERN = r"^[\x21-\x7e]{1,256}$"
# CloudEvents extension attribute names: lowercase letters and digits only.
EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")

HeaderValue = bytes | str | None
Headers = Sequence[tuple[str, HeaderValue]]


def _data_content_type(value: Any) -> str:
    # Absent and explicit null mean the same; normalising keeps encode() byte-stable.
    if value is None or value == DATA_CONTENT_TYPE:
        return DATA_CONTENT_TYPE
    raise ValueError(f'must be "{DATA_CONTENT_TYPE}", got {json.dumps(value)[:60]}')


class EnvelopeAttributes(BaseModel):
    """The CloudEvents context attributes, without `data`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"]
    id: EventId
    type: str = Field(pattern=TYPE_PATTERN, max_length=64)
    source: str = Field(pattern=SOURCE_PATTERN)
    time: Timestamp
    subject: Id
    tenantid: Id
    actor: Actor | None = None
    correlationid: EventId | None = None
    causationid: EventId | None = None
    datacontenttype: Annotated[
        str | None,
        BeforeValidator(_data_content_type),
        WithJsonSchema({"const": DATA_CONTENT_TYPE}),
    ] = DATA_CONTENT_TYPE
    # CloudEvents distributed-tracing extension (W3C trace context; schemas/tracing.py).
    traceparent: Traceparent = None
    tracestate: Tracestate = None


class Envelope(EnvelopeAttributes):
    """A message of the contract: CloudEvents 1.0 attributes and the typed payload in `data`."""

    data: SerializeAsAny[BaseModel]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if type(self) is not Envelope:
            return self  # a typed envelope: ``decode`` runs the cross checks itself
        problems = _cross_checks(self.type, self.actor, self.subject, self.tenantid, self.data)
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    def data_dict(self) -> dict[str, Any]:
        """The payload as JSON values: money as "12.30", dates as "YYYY-MM-DD"."""
        dumped: dict[str, Any] = self.data.model_dump(mode="json", exclude_none=True)
        return dumped


def _cross_checks(
    type_: str, actor: str | None, subject: str, tenantid: str, data: BaseModel
) -> list[FieldError]:
    model = MODELS.get(type_)
    if model is None:
        return [FieldError("type", f'unknown message type "{type_}"')]
    if not isinstance(data, model):
        return [FieldError("data", f"must be a {model.__name__} for type {type_}")]
    problems = []
    if is_command(type_) and actor is None:
        problems.append(FieldError("actor", "required on commands"))
    field = aggregate_field(type_)
    if field is not None and getattr(data, field) != subject:
        problems.append(
            FieldError(
                "subject", f'must equal data.{field} "{getattr(data, field)}", got "{subject}"'
            )
        )
    if type_ in _CARRIES_TENANT and getattr(data, "tenantid", tenantid) != tenantid:
        problems.append(FieldError("data.tenantid", "must equal the envelope tenantid"))
    return problems


# --- decoding -------------------------------------------------------------------------------


def decode(
    value: bytes | None, headers: Headers | None = None, *, max_bytes: int = MAX_BYTES
) -> Envelope:
    """Turn a Kafka record value (and headers) into a typed message, or raise `MessageInvalid`.

    Structured mode (the whole CloudEvent as the JSON value) is what we produce; binary mode
    (`ce_*` headers, value = data) is accepted from upstreams that use it.
    """
    if value is None:
        raise MessageInvalid.one("not_json", "", "empty record (tombstone), expected a CloudEvent")
    if len(value) > max_bytes:
        raise MessageInvalid.one("too_large", "", f"{len(value)} bytes, at most {max_bytes}")
    attributes = _header_map(headers)
    if "ce_specversion" in attributes:
        return _validate(_from_binary_mode(value, attributes), emitting=False, check_text=True)
    content_type = attributes.get("content-type", CONTENT_TYPE).split(";")[0].strip().lower()
    if content_type not in (CONTENT_TYPE, DATA_CONTENT_TYPE):
        raise MessageInvalid.one(
            "not_json", "headers.content-type", f"expected {CONTENT_TYPE}, got {content_type!r}"
        )
    # Valid UTF-8 holds no surrogate and JSON no raw NUL: only a \\u escape can bring either in,
    # so the (slow) walk over every string runs only for a value that has such an escape.
    return _validate(parse_json(value), emitting=False, check_text=may_hold_bad_text(value))


def may_hold_bad_text(value: bytes) -> bool:
    """Whether a JSON value may hold a lone surrogate or a NUL (only a \\u escape brings one)."""
    return _ESCAPED_BAD_TEXT.search(value) is not None


_ESCAPED_BAD_TEXT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _header_map(headers: Headers | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, raw in headers or ():
        if raw is None:
            continue
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        found[key.lower()] = text
    return found


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            # Two values for one field: which one the sender meant is unknowable.
            raise ValueError(f'duplicate key "{key[:60]}"')
        result[key] = item
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


def parse_json(value: bytes) -> Any:
    """The JSON value of a record, or `MessageInvalid` (not UTF-8, not JSON, a key twice)."""
    try:
        obj = _JSON.decode(value.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MessageInvalid.one("not_json", "", f"not UTF-8 text: {exc.reason}") from None
    except (ValueError, RecursionError) as exc:
        raise MessageInvalid.one("not_json", "", f"not valid JSON: {str(exc)[:200]}") from None
    return obj


# A lone UTF-16 surrogate ("\ud800", what an app sends when it cuts an emoji in half) is valid
# JSON but has no UTF-8 form (the validators cannot even look at it), and Postgres text cannot
# hold NUL: neither is text we can keep.
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUL = re.compile("\x00")


def _check_text(obj: Any, loc: str, bad: re.Pattern[str], what: str) -> None:
    """Refuse any key or string value matching ``bad``, naming where it is."""
    if isinstance(obj, str):
        if bad.search(obj):
            raise MessageInvalid.one("invalid_text", loc, f"text holds {what}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            where = f"{loc}.{key}" if loc else str(key)
            if bad.search(key):
                raise MessageInvalid.one("invalid_text", loc, f"a field name holds {what}")
            _check_text(value, where, bad, what)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _check_text(value, f"{loc}[{i}]", bad, what)


def _checked_text(obj: Any, bad: re.Pattern[str], what: str) -> None:
    try:
        _check_text(obj, "", bad, what)
    except RecursionError:
        raise MessageInvalid.one("not_json", "", "JSON nested too deeply") from None


def _from_binary_mode(value: bytes, attributes: Mapping[str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {k[3:]: v for k, v in attributes.items() if k.startswith("ce_")}
    obj["data"] = parse_json(value)
    if "content-type" in attributes:
        obj["datacontenttype"] = attributes["content-type"].split(";")[0].strip().lower()
    return obj


def _validate(obj: Any, *, emitting: bool, check_text: bool = True) -> Envelope:
    if check_text:
        _checked_text(obj, _SURROGATE, "a lone UTF-16 surrogate")
    envelope = _validate_fields(obj, emitting=emitting)
    if check_text:
        # Checked once the fields are valid, so a wrong field is reported as such first.
        _checked_text(obj, _NUL, "a NUL character")
    return envelope


def _validate_fields(obj: Any, *, emitting: bool) -> Envelope:
    if not isinstance(obj, dict):
        kind = "an array" if isinstance(obj, list) else f"a JSON {type(obj).__name__}"
        raise MessageInvalid.one("not_object", "", f"a CloudEvent is a JSON object, got {kind}")
    type_ = obj.get("type")
    typed = _TYPED.get(type_) if isinstance(type_, str) else None
    if typed is None:
        if isinstance(type_, str) and re.match(TYPE_PATTERN, type_):
            raise MessageInvalid.one("unknown_type", "type", f'unknown message type "{type_[:64]}"')
        # No model for the payload: report what is wrong with the attributes.
        try:
            EnvelopeAttributes.model_validate(obj)
        except ValidationError as exc:
            raise MessageInvalid("schema", field_errors(exc)) from None
        raise MessageInvalid.one("schema", "type", "required")  # unreachable: type is required
    # One validation in pydantic-core per message: the attributes and the typed payload.
    try:
        envelope: Envelope | None = typed.model_validate(obj)
        found: list[FieldError] = []
    except ValidationError as exc:
        envelope, found = None, field_errors(exc)
    errors = [e for e in found if not _in_data(e)]
    command = is_command(type_)  # type: ignore[arg-type]
    if emitting or command:
        errors += _unknown_attributes(obj)
    if command and obj.get("actor") is None:
        errors.append(FieldError("actor", "required on commands"))
    if emitting and not command:
        # A command's model forbids other fields itself: pydantic reported them already.
        errors += _unknown_data_fields(MODELS[type_], obj.get("data"))  # type: ignore[index]
    errors += [e for e in found if _in_data(e)]
    if errors or envelope is None:
        raise MessageInvalid("schema", errors)
    problems = _cross_checks(
        envelope.type, envelope.actor, envelope.subject, envelope.tenantid, envelope.data
    )
    if problems:
        reason: Reason = "subject_mismatch" if problems[0].loc == "subject" else "schema"
        raise MessageInvalid(reason, problems)
    return envelope


def _in_data(error: FieldError) -> bool:
    return error.loc == "data" or error.loc.startswith(("data.", "data["))


def _unknown_attributes(obj: Mapping[str, Any]) -> list[FieldError]:
    known = _ATTRIBUTES
    return [
        FieldError(key[:64], "unknown attribute (extensions must be lowercase a-z 0-9)")
        for key in obj
        if key not in known and not EXTENSION_NAME.match(key)
    ]


def _unknown_data_fields(model: type[BaseModel], payload: Any) -> list[FieldError]:
    # What we emit must be exactly the contract, even for tolerant-reader event types.
    if not isinstance(payload, dict):
        return []
    return [
        FieldError(f"data.{key}", "unknown field")
        for key in payload
        if key not in _FIELD_NAMES[model]
    ]


def _typed(type_: str, model: type[BaseModel]) -> type[Envelope]:
    typed: type[Envelope] = create_model(
        f"Envelope_{type_.replace('.', '_')}",
        __base__=Envelope,
        __module__=__name__,
        data=(model, ...),
    )
    return typed


# The envelope of each message type with its payload model in place of ``BaseModel``: the
# attributes, the payload and their constraints are checked in one pydantic-core call.
_TYPED: dict[str, type[Envelope]] = {t: _typed(t, m) for t, m in MODELS.items()}
# Field names looked up once: pydantic's ``model_fields`` is a descriptor call on every access,
# and ``getattr(data, name, default)`` on a missing field raises inside pydantic first.
_ATTRIBUTES = frozenset(Envelope.model_fields)
_FIELD_NAMES: dict[type[BaseModel], frozenset[str]] = {
    m: frozenset(m.model_fields) for m in MODELS.values()
}
_CARRIES_TENANT = frozenset(t for t, m in MODELS.items() if "tenantid" in m.model_fields)
