"""Value types of notify_svc: the source fact it reads and the notification it produces.

Pure data: no IO. The wire form of `Notification` is the payload of the `notifications` topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
        return {
            "type": self.type,
            "tenantid": self.tenantid,
            "event_id": self.event_id,
            "time": self.time.isoformat(),
            "data": dict(self.data),
            "actor": self.actor,
            "correlationid": self.correlationid,
            "subject": self.subject,
        }

    @classmethod
    def from_wire(cls, payload: Mapping[str, Any]) -> SourceEvent:
        """Inverse of `to_wire`; raises KeyError/ValueError/TypeError on a malformed payload."""
        data = payload["data"]
        if not isinstance(data, Mapping):
            raise TypeError("source event data must be an object")
        actor, correlation = payload.get("actor"), payload.get("correlationid")
        subject = payload.get("subject")  # absent from facts kept before it was
        return cls(
            type=str(payload["type"]),
            tenantid=str(payload["tenantid"]),
            event_id=str(payload["event_id"]),
            time=datetime.fromisoformat(str(payload["time"])),
            data=dict(data),
            actor=None if actor is None else str(actor),
            correlationid=None if correlation is None else str(correlation),
            subject=None if subject is None else str(subject),
        )


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
        return {
            "notification_id": self.notification_id,
            "tenantid": self.tenantid,
            "recipient": self.recipient,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "locale": self.locale,
            "data": dict(self.data),
            "created_at": self.created_at.isoformat(),
            "source_event_id": self.source_event_id,
        }

    @classmethod
    def from_wire(cls, payload: Mapping[str, Any]) -> Notification:
        """Inverse of `to_wire`; raises KeyError/ValueError/TypeError on a malformed payload."""
        data = payload["data"]
        if not isinstance(data, Mapping):
            raise TypeError("notification data must be an object")
        created_at = datetime.fromisoformat(str(payload["created_at"]))
        if created_at.tzinfo is None:
            raise ValueError("created_at must carry a UTC offset")
        return cls(
            notification_id=str(payload["notification_id"]),
            tenantid=str(payload["tenantid"]),
            recipient=str(payload["recipient"]),
            kind=str(payload["kind"]),
            title=str(payload["title"]),
            body=str(payload["body"]),
            locale=as_locale(str(payload["locale"])),
            data=dict(data),
            created_at=created_at,
            source_event_id=str(payload["source_event_id"]),
        )
