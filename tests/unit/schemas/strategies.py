"""Hypothesis strategies for valid messages of every type, built from the models' fields."""

from __future__ import annotations

import types
import typing
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from schemas.fields import MONEY_MAX, Kind
from schemas.registry import MODELS, aggregate_field, is_command

Json = dict[str, Any]

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5.5))])
# Valid text: no lone surrogates (category Cs) and no NUL, which the codec refuses.
_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
_TEXT = st.text(alphabet=_CHARS, min_size=1, max_size=40).filter(lambda t: t.strip() != "")


def _money(minimum: Decimal) -> st.SearchStrategy[Any]:
    amounts = st.decimals(min_value=minimum, max_value=MONEY_MAX, places=2)
    return st.one_of(
        amounts.map(lambda d: f"{d:f}"),
        amounts.map(lambda d: str(d.normalize()) if d == d.to_integral() else f"{d:f}"),
        st.integers(min_value=int(max(minimum, 1)), max_value=int(MONEY_MAX)),
    ).filter(lambda v: "E" not in str(v))


_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-"
_IDS = st.text(alphabet=_ID_CHARS, min_size=1, max_size=64)
# Character-set strategies rather than from_regex: the same shapes, generated far faster.
_EVENT_IDS = st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], min_size=1, max_size=128)
_ACTORS = st.one_of(
    st.tuples(st.sampled_from(["user:", "admin:"]), _IDS).map("".join),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=64).map(
        lambda name: "system:" + name
    ),
)

_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "money": _money(Decimal("0.01")),
    "money0": _money(Decimal(0)),
    "id": _IDS,
    "event_id": _EVENT_IDS,
    "actor": _ACTORS,
    "date": st.dates().map(lambda d: d.isoformat()),
    "timestamp": st.datetimes(timezones=_ZONES).map(lambda t: t.isoformat()),
    "reason": _TEXT,
    "reason?": st.one_of(st.none(), _TEXT, st.just("   ")),
    "text:100": _TEXT,
    "text:2000": _TEXT,
}

_JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(_CHARS, max_size=10)
)
FREE_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(_CHARS, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def for_annotation(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """A strategy of JSON values that the field `annotation` (with `metadata`) accepts."""
    for item in metadata:
        if isinstance(item, Kind):
            return _KINDS[item.name]
    pattern = next(
        (getattr(m, "pattern", None) for m in metadata if getattr(m, "pattern", None)), None
    )
    if pattern:
        return st.from_regex(pattern, fullmatch=True)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return for_annotation(args[0], list(args[1:]))
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return st.one_of(st.none(), *(for_annotation(a, []) for a in inner))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        minimum = max([getattr(m, "min_length", 0) for m in metadata] + [0])
        return st.lists(for_annotation(args[0], []), min_size=minimum, max_size=4)
    if origin is dict:
        return st.dictionaries(st.text(_CHARS, max_size=8), FREE_JSON, max_size=4)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_data(annotation)
    if annotation is int:
        low = next((m.ge for m in metadata if getattr(m, "ge", None) is not None), None)
        high = next((m.le for m in metadata if getattr(m, "le", None) is not None), None)
        return st.integers(min_value=low, max_value=high)
    raise NotImplementedError(f"no strategy for {annotation!r}")


def _field(info: FieldInfo) -> st.SearchStrategy[Any]:
    return for_annotation(info.annotation, list(info.metadata))


def model_data(model: type[BaseModel]) -> st.SearchStrategy[Json]:
    """Field-wise valid payloads; optional fields are sometimes absent."""
    fields = model.model_fields
    return st.fixed_dictionaries(
        {name: _field(info) for name, info in fields.items() if info.is_required()},
        optional={name: _field(info) for name, info in fields.items() if not info.is_required()},
    )


def _dedupe(items: list[Json], key: str) -> list[Json]:
    seen: dict[str, Json] = {}
    for item in items:
        seen.setdefault(item[key], item)
    return list(seen.values())


def _repair(type_: str, data: Json) -> Json:
    """Make field-wise valid data satisfy the cross-field rules of its type."""
    if "allocations" in data and type_ in ("payment.record", "payment.allocate"):
        data["allocations"] = _dedupe(data["allocations"], "invoice_no")
    if type_ == "payment.record":
        postdated = data["method"] in ("giro", "cheque")
        if postdated and not data.get("giro"):
            data["giro"] = {"number": "BG-1", "bank": "BRI", "due_date": "2023-08-21"}
        if not postdated:
            data.pop("giro", None)
        total = sum((Decimal(a["amount"]) for a in data.get("allocations", [])), Decimal(0))
        if total > Decimal(data["amount"]):
            data["amount"] = f"{total:f}" if total <= MONEY_MAX else data["amount"]
            if total > MONEY_MAX:
                data["allocations"] = []
    if type_ == "invoice.issue" and data.get("due_date") and data["due_date"] < data["issue_date"]:
        data["due_date"], data["issue_date"] = data["issue_date"], data["due_date"]
    if type_ == "pickup.arrange" and "payment_nos" in data:
        data["payment_nos"] = list(dict.fromkeys(data["payment_nos"]))
    reject = type_ == "pickup.cancel.decide" and data["decision"] == "reject"
    if reject and not (data.get("reason") or "").strip():
        data["reason"] = "not possible"
    return data


@st.composite
def valid_message(draw: st.DrawFn, types_: tuple[str, ...] | None = None) -> Json:
    """A whole valid message (as a JSON object) of any type, or of one of `types_`."""
    type_ = draw(st.sampled_from(types_ or sorted(MODELS)))
    data = _repair(type_, draw(model_data(MODELS[type_])))
    field = aggregate_field(type_)
    subject = data[field] if field else draw(_KINDS["id"])
    tenant = data["tenantid"] if "tenantid" in data else draw(_KINDS["id"])
    message: Json = {
        "specversion": "1.0",
        "id": draw(_KINDS["event_id"]),
        "type": type_,
        "source": draw(st.sampled_from(["/backoffice", "/svc/pickup", "/sfa/collector-17"])),
        "time": draw(_KINDS["timestamp"]),
        "subject": subject,
        "tenantid": tenant,
        "data": data,
    }
    if is_command(type_) or draw(st.booleans()):
        message["actor"] = draw(_KINDS["actor"])
    for optional in ("correlationid", "causationid"):
        if draw(st.booleans()):
            message[optional] = draw(_KINDS["event_id"])
    if draw(st.booleans()):
        message["datacontenttype"] = draw(st.sampled_from([None, "application/json"]))
    return message
