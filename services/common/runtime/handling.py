"""What a service's handler receives and returns: the contract between the runtime and a service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from pydantic import BaseModel

from schemas import Envelope, derive_id, make_event


@dataclass(frozen=True)
class Outgoing:
    """A message to publish once the transaction commits."""

    topic: str
    envelope: Envelope


@dataclass(frozen=True)
class Accepted:
    """The command was applied (or was a no-op); these messages go to the outbox."""

    messages: tuple[Outgoing, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """A business refusal: the runtime publishes ``command.rejected`` with this code and message."""

    code: str
    message: str


Outcome = Accepted | Rejected


@dataclass
class HandlerContext:
    """One message's view of the world: the open transaction, the time, how to build what it emits.

    ``conn`` is inside the transaction that also writes the inbox and outbox rows: everything the
    handler writes through it commits (or not) with them.
    """

    conn: psycopg.Connection[Any]
    message: Envelope
    now: datetime
    source: str
    extras: Mapping[str, Any] = field(default_factory=dict)

    def event(
        self,
        topic: str,
        type: str,
        data: BaseModel | Mapping[str, Any],
        *,
        subject: str | None = None,
        purpose: str | None = None,
        actor: str | None = None,
    ) -> Outgoing:
        """An event or derived command caused by the current message, with a deterministic id.

        The id is derived from the causing message's id and ``purpose`` (default: the type and
        subject), so a redelivered command produces the same ids and the outbox keeps one copy.
        """
        subject = subject or self.message.subject
        envelope = make_event(
            type,
            data,
            id=derive_id(cause_key(self.message), purpose or f"{type}/{subject}"),
            source=self.source,
            time=self.now,
            tenantid=self.message.tenantid,
            subject=subject,
            cause=self.message,
            actor=actor,
        )
        return Outgoing(topic, envelope)


Handler = Callable[[Envelope, HandlerContext], Outcome]


def cause_key(message: Envelope) -> str:
    """What identifies a message for deriving ids: ids are unique only per tenant and source,
    so two tenants reusing a command id must still get distinct event ids."""
    return f"{message.tenantid}/{message.source}/{message.id}"
