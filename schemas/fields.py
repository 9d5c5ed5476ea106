"""Field types shared by every message: money, ids, dates, timestamps, reasons, actors.

Each type validates what an upstream system sends, serializes to one canonical JSON form, and
carries a `Kind` marker so tests and tooling can tell what a field is without parsing names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

CENT = Decimal("0.01")
MONEY_MAX = Decimal(10) ** 13
ID_PATTERN = r"^[A-Za-z0-9._/-]{1,64}$"
EVENT_ID_PATTERN = r"^[\x21-\x7e]{1,128}$"
ACTOR_PATTERN = r"^(?:(?:user|admin):[A-Za-z0-9._/-]{1,64}|system:[a-z0-9._-]{1,64})$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# RFC 3339 (a profile of ISO 8601): a full date, a time and an explicit offset.
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_MONEY_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
REASON_MAX = 500


@dataclass(frozen=True)
class Kind:
    """Marks what a field is (money, id, date ...) for generators and documentation."""

    name: str


def show(value: Any) -> str:
    """A short rendering of an offending input for error messages."""
    if isinstance(value, str):
        text = '"' + value + '"'
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, dict):
        text = "an object"
    elif isinstance(value, list):
        text = "an array"
    else:
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_money(value: Any, *, allow_zero: bool) -> Decimal:
    # A JSON float is refused outright: it has already lost the exact cents on the way in.
    if isinstance(value, (bool, float)):
        raise ValueError(f"money must be a JSON string or integer, not a number, got {show(value)}")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"must be a finite amount, got {show(value)}")
        amount = value
    elif isinstance(value, str):
        if len(value) > 40 or not _MONEY_TEXT.match(value):
            raise ValueError(f'must be a decimal amount like "1250.50", got {show(value)}')
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:  # unreachable after the regex, kept for safety
            raise ValueError(f"not a decimal amount, got {show(value)}") from exc
    else:
        raise ValueError(f"money must be a JSON string or integer, got {show(value)}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError(f"must be {'>= 0' if allow_zero else '> 0'}, got {show(value)}")
    if amount > MONEY_MAX:
        raise ValueError(f"at most 10000000000000, got {show(value)}")
    # "10.120" is refused as text (a sender that writes 3 decimals may mean sub-cents), while a
    # computed Decimal equal to whole cents is fine.
    decimals = len(value.partition(".")[2]) if isinstance(value, str) else 0
    if decimals > 2 or amount != amount.quantize(CENT):
        raise ValueError(f"at most 2 decimal places, got {show(value)}")
    return amount.quantize(CENT)


def _money_json(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


_MONEY_SCHEMA = {
    "type": ["string", "integer"],
    "pattern": r"^[0-9]{1,14}(\.[0-9]{1,2})?$",
    "minimum": 0,
    "maximum": 10**13,
    "description": "Money: a JSON string with at most 2 decimals (or an integer); never a float.",
}

Money = Annotated[
    Decimal,
    BeforeValidator(lambda v: _parse_money(v, allow_zero=False)),
    PlainSerializer(_money_json, return_type=str, when_used="json"),
    WithJsonSchema({**_MONEY_SCHEMA, "exclusiveMinimum": 0}),
    Kind("money"),
]
"""An amount > 0, at most 10^13, 2 decimals; emitted as a string with exactly 2 decimals."""

MoneyOrZero = Annotated[
    Decimal,
    BeforeValidator(lambda v: _parse_money(v, allow_zero=True)),
    PlainSerializer(_money_json, return_type=str, when_used="json"),
    WithJsonSchema(_MONEY_SCHEMA),
    Kind("money0"),
]
"""A derived amount that may be zero (outstanding, allocated)."""


# Ids, message ids and actors are checked by pydantic-core itself (a strict string and a pattern,
# in compiled code, per message); ``PATTERN_MESSAGES`` gives its refusals the wording upstream
# developers read (``errors.py``), so the contract stays defined once, here.
PATTERN_MESSAGES: dict[str, str] = {
    ID_PATTERN: "must be 1-64 characters of A-Z a-z 0-9 . _ / -",
    EVENT_ID_PATTERN: "must be 1-128 visible ASCII characters",
    ACTOR_PATTERN: "must be user:<id>, admin:<id> or system:<service>",
}


def _pattern(pattern: str) -> StringConstraints:
    return StringConstraints(strict=True, pattern=pattern)


Id = Annotated[
    str,
    _pattern(ID_PATTERN),
    WithJsonSchema({"type": "string", "pattern": ID_PATTERN}),
    Kind("id"),
]
"""A business id: payment_no, invoice_no, order_id, customer_id, awb ..."""

EventId = Annotated[
    str,
    _pattern(EVENT_ID_PATTERN),
    WithJsonSchema({"type": "string", "pattern": EVENT_ID_PATTERN}),
    Kind("event_id"),
]
"""A message id (CloudEvents `id`, causation and correlation ids)."""

Actor = Annotated[
    str,
    _pattern(ACTOR_PATTERN),
    WithJsonSchema({"type": "string", "pattern": ACTOR_PATTERN}),
    Kind("actor"),
]


def _parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.match(DATE_PATTERN, value):
        raise ValueError(f"must be a date YYYY-MM-DD, got {show(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not a calendar date, got {show(value)}") from exc


Date = Annotated[
    date,
    BeforeValidator(_parse_date),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
    Kind("date"),
]


def _parse_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and re.match(TIMESTAMP_PATTERN, value):
        text = value.upper().replace("Z", "+00:00")
        # Python keeps microseconds; RFC 3339 allows more digits, which we truncate.
        dot = text.find(".")
        if dot != -1:
            end = dot + 1
            while end < len(text) and text[end].isdigit():
                end += 1
            if end - dot > 7:
                text = text[: dot + 7] + text[end:]
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not a valid RFC 3339 timestamp, got {show(value)}") from exc
    else:
        raise ValueError(f"must be an RFC 3339 timestamp with offset, got {show(value)}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"must carry a UTC offset, got {show(value)}")
    return parsed


def timestamp_json(value: datetime) -> str:
    """The JSON text of a `Timestamp`: ISO 8601, UTC written with `Z`."""
    text = value.isoformat()
    return text[:-6] + "Z" if value.utcoffset() == UTC.utcoffset(None) else text


Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse_timestamp),
    PlainSerializer(timestamp_json, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
    Kind("timestamp"),
]
"""A timezone-aware instant; UTC is written with `Z`."""


def _parse_text(value: Any, *, limit: int, blank_is_none: bool) -> str | None:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {show(value)}")
    text = value.strip()
    if not text:
        if blank_is_none:
            return None
        raise ValueError("must not be blank")
    if len(text) > limit:
        raise ValueError(f"at most {limit} characters, got {len(text)}")
    return text


def _text_schema(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit}


Reason = Annotated[
    str,
    BeforeValidator(lambda v: _parse_text(v, limit=REASON_MAX, blank_is_none=False)),
    WithJsonSchema(_text_schema(REASON_MAX)),
    Kind("reason"),
]
"""A required human reason, trimmed, 1-500 characters."""

OptionalReason = Annotated[
    str | None,
    BeforeValidator(
        lambda v: None if v is None else _parse_text(v, limit=REASON_MAX, blank_is_none=True)
    ),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": REASON_MAX}, {"type": "null"}]}),
    Kind("reason?"),
]
"""An optional reason; a blank one is treated as absent."""


ShortText = Annotated[
    str,
    BeforeValidator(lambda v: _parse_text(v, limit=100, blank_is_none=False)),
    WithJsonSchema(_text_schema(100)),
    Kind("text:100"),
]
"""Trimmed text of 1-100 characters (bank names, titles of things)."""

LongText = Annotated[
    str,
    BeforeValidator(lambda v: _parse_text(v, limit=2000, blank_is_none=False)),
    WithJsonSchema(_text_schema(2000)),
    Kind("text:2000"),
]
"""Trimmed text of 1-2000 characters (notification bodies, rejection messages)."""


def _no_duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{show(value)} appears twice")
        seen.add(value)
    return values


UniqueIds = Annotated[list[Id], AfterValidator(_no_duplicates)]


class Command(BaseModel):
    """Base of command payloads: strict, an unknown field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    aggregate_field: ClassVar[str | None] = None


class Event(BaseModel):
    """Base of event payloads: tolerant reader, unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    aggregate_field: ClassVar[str | None] = None


class Part(BaseModel):
    """A nested value inside a command (allocation, giro details): strict like its command."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EventPart(BaseModel):
    """A nested value inside an event: tolerant like its event."""

    model_config = ConfigDict(extra="ignore", frozen=True)
