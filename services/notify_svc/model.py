"""Value types of notify_svc: the source fact it reads and the notification it produces.

Pure data: no IO. The wire form of `Notification` is the payload of the `notifications` topic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any, Literal

from schemas import Envelope, derive_id

Locale = Literal["id", "en"]
LOCALES: tuple[Locale, ...] = ("id", "en")
DEFAULT_LOCALE: Locale = "id"


def derive_notification_id(tenantid: str, source_event_id: str, recipient: str) -> str:
    """Deterministic id of the notification one source event yields for one recipient.

    A uuid5 (`schemas.derive_id`). The tenant is part of the name because event ids are only unique
    per producer; a replay of the same event for the same recipient always yields the same id,
    which is what makes feed writes and consumers of `notifications` idempotent.
    """
    return derive_id(source_event_id, f"notification/{tenantid}/{recipient}")


def as_locale(value: str | None) -> Locale:
    """The locale named by `value`, falling back to Indonesian for anything unknown."""
    if value == "en":
        return "en"
    return DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """The parts of an envelope notify_svc needs: what happened, to whom, caused by whom."""

    type: str
    tenantid: str
    event_id: str
    time: datetime
    data: Mapping[str, Any]
    actor: str | None = None
    # Shared by everything one command set off: a decision, the invoice void and payment
    # releases it asked payment_svc for, and what payment_svc reported back (`settlement`).
    correlationid: str | None = None
    # What the fact is about; of a `command.rejected`, the refused command's subject (the invoice
    # of an `invoice.void`, the payment of a `payment.release`), which its data does not repeat.
    subject: str | None = None

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> SourceEvent:
        """The fact a decoded message of `pickup.events`, `pickup.cancel.decided` or
        `payment.events` states."""
        return cls(
            type=envelope.type,
            tenantid=envelope.tenantid,
            event_id=envelope.id,
            time=envelope.time,
            data=envelope.data_dict(),
            actor=envelope.actor,
            correlationid=envelope.correlationid,
            subject=envelope.subject,
        )

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready form, for a fact kept until the decision it belongs to is seen."""
        return _to_wire(self)

    @classmethod
    def from_wire(cls, payload: Mapping[str, Any]) -> SourceEvent:
        """Inverse of `to_wire`; raises KeyError/ValueError/TypeError on a malformed payload.
        `subject` may be absent (facts kept before it was)."""
        return cls(**_from_wire(cls, payload))


@dataclass(frozen=True, slots=True)
class Notification:
    """One user-facing message for one recipient, rendered in that recipient's locale."""

    notification_id: str
    tenantid: str
    recipient: str
    kind: str
    title: str
    body: str
    locale: Locale
    data: Mapping[str, Any]
    created_at: datetime
    source_event_id: str

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready payload, field names as in `schemas.notification`."""
        return _to_wire(self)

    @classmethod
    def from_wire(cls, payload: Mapping[str, Any]) -> Notification:
        """Inverse of `to_wire`; raises KeyError/ValueError/TypeError on a malformed payload."""
        values = _from_wire(cls, payload)
        if values["created_at"].tzinfo is None:
            raise ValueError("created_at must carry a UTC offset")
        return cls(**values)


# The wire form of the value types above is their fields by name, in order: a time in ISO 8601,
# a mapping as a dict, the rest strings. Reading it back: these fields by their reader, the others
# as strings; a field with a default (None) may be absent or null.
_READ: dict[str, Callable[[Any], Any]] = {
    "time": lambda value: datetime.fromisoformat(str(value)),
    "created_at": lambda value: datetime.fromisoformat(str(value)),
    "locale": lambda value: as_locale(str(value)),
    "data": lambda value: _mapping(value),
}


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("data must be an object")
    return dict(value)


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (SourceEvent, Notification)
}


def _to_wire(value: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for name in _FIELD_NAMES[type(value)]:
        item = getattr(value, name)
        # Most fields are strings (or None): spare them the abstract `Mapping` check.
        if type(item) is not str and item is not None:
            if isinstance(item, datetime):
                item = item.isoformat()
            elif isinstance(item, Mapping):
                item = dict(item)
        wire[name] = item
    return wire


def _from_wire(cls: type[Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(cls):
        read = _READ.get(f.name, str)
        if f.default is MISSING:
            values[f.name] = read(payload[f.name])
        else:
            raw = payload.get(f.name)
            values[f.name] = None if raw is None else read(raw)
    return values
