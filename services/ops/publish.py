"""``lunas publish``: commands from JSON, JSONL or flags, validated and routed before sending."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas import (
    CONTENT_TYPE_HEADER,
    Envelope,
    MessageInvalid,
    decode,
    encode,
    is_command,
    kafka_key,
    make_event,
)
from schemas.registry import TOPIC_TYPES


@dataclass(frozen=True)
class Outgoing:
    """A valid command, encoded, with the topic that carries its type."""

    index: int
    id: str
    type: str
    topic: str
    key: bytes
    value: bytes

    def headers(self) -> list[tuple[str, bytes]]:
        return [CONTENT_TYPE_HEADER]


@dataclass(frozen=True)
class Refused:
    """An item that will not be sent, with the fields at fault."""

    index: int
    reason: str
    errors: tuple[tuple[str, str], ...]
    id: str | None = None
    type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.index,
            "id": self.id,
            "type": self.type,
            "reason": self.reason,
            "errors": [{"loc": loc, "message": msg} for loc, msg in self.errors],
        }


@dataclass
class Checked:
    outgoing: list[Outgoing] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


class InputError(ValueError):
    """The input as a whole cannot be read (not JSON at all, empty)."""


def parse_documents(text: str) -> list[tuple[int, Any]]:
    """Items of a JSON array, a single JSON object or JSONL, each with its 1-based number.

    In JSONL the number is the line; a line that is not JSON becomes a ``SyntaxError`` item
    (refused later with the reason) rather than hiding the other lines' problems.
    """
    stripped = text.strip()
    if not stripped:
        raise InputError("no input: expected a JSON object, a JSON array or JSON lines")
    if stripped[0] == "[":
        return list(enumerate(_json_of(stripped, list, "not a JSON array"), start=1))
    try:
        return [(1, json.loads(stripped))]
    except ValueError:
        pass  # more than one document: JSON lines
    found: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append((number, json.loads(line)))
        except ValueError as exc:
            found.append((number, SyntaxError(str(exc))))
    return found


def _json_of(text: str, kind: type[list[Any]] | type[dict[str, Any]], refusal: str) -> Any:
    """``text`` as JSON of ``kind``, else an ``InputError`` saying ``refusal`` (and why)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{refusal}: {exc}") from None
    if not isinstance(value, kind):
        raise InputError(refusal)
    return value


def from_flags(
    *,
    type: str,
    subject: str,
    tenant: str,
    actor: str,
    data: str,
    id: str,
    source: str,
    time: datetime,
) -> Envelope | Refused:
    """A command from ``--type --subject --tenant --actor --data`` (data is a JSON object), built
    by the contract's own builder: the envelope, or why it is not one (item 1, refused)."""
    payload = _json_of(data, dict, "--data is not a JSON object")
    try:
        return make_event(
            type, payload, id=id, source=source, time=time, tenantid=tenant, subject=subject,
            actor=actor,
        )  # fmt: skip
    except MessageInvalid as exc:
        return _refused(1, exc, id, type)


def topic_for(type_: str) -> str | None:
    """The one topic that carries a command type (docs/ARCHITECTURE.md "Wire contract"), or None
    for a non-command."""
    if not is_command(type_):
        return None
    carriers = [topic for topic, types in TOPIC_TYPES.items() if type_ in types]
    return carriers[0] if len(carriers) == 1 else None


def check(items: Sequence[tuple[int, Any]]) -> Checked:
    """Validate every item as the services will (``schemas.decode``) and route it."""
    result = Checked()
    for index, item in items:
        if isinstance(item, SyntaxError):
            result.refused.append(Refused(index, "not_json", (("", str(item)),)))
            continue
        if isinstance(item, Refused):
            result.refused.append(replace(item, index=index))
            continue
        if isinstance(item, Envelope):
            item = item.model_dump(mode="json", exclude_none=True)
        try:
            # ASCII JSON: a lone surrogate stays an escape that decode refuses, not a crash here.
            env = decode(json.dumps(item).encode(), [CONTENT_TYPE_HEADER])
        except MessageInvalid as exc:
            result.refused.append(_refused(index, exc, _attr(item, "id"), _attr(item, "type")))
            continue
        topic = topic_for(env.type)
        if topic is None:
            message = "not a command: events are emitted by the services, not published by hand"
            result.refused.append(
                Refused(index, "not_a_command", (("type", message),), env.id, env.type)
            )
            continue
        result.outgoing.append(
            Outgoing(index, env.id, env.type, topic, kafka_key(env), encode(env))
        )
    _refuse_reused_ids(result)
    return result


def _refused(index: int, exc: MessageInvalid, id: str | None, type: str | None) -> Refused:
    return Refused(index, exc.reason, tuple((e.loc, e.message) for e in exc.errors), id, type)


def _refuse_reused_ids(result: Checked) -> None:
    # One id twice in one file is either a copy-paste slip or a conflict the service rejects;
    # either way the operator should decide, not the broker.
    seen: dict[tuple[str, str], int] = {}
    kept: list[Outgoing] = []
    for out in result.outgoing:
        tenant = out.key.decode().split(":", 1)[0]
        first = seen.setdefault((tenant, out.id), out.index)
        if first != out.index:
            message = f"id already used by item {first} of this input"
            result.refused.append(
                Refused(out.index, "duplicate_id", (("id", message),), out.id, out.type)
            )
        else:
            kept.append(out)
    result.outgoing = kept
    result.refused.sort(key=lambda r: r.index)


def _attr(item: Any, name: str) -> str | None:
    value = item.get(name) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None
