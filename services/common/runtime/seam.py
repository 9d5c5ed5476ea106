"""The seam between the runtime and a service: a unit of work per batch, and typed handlers.

The runtime owns the connection and the transaction. A service plugs in with
- a ``UnitOfWork`` built per batch (it alone holds the connection): ``prepare`` before the
  transaction (calls to the outside world, no locks held), ``load`` every aggregate the batch's
  messages name (one query per table, locked in key order), ``mark``/``undo`` to drop what one
  message staged, ``flush`` to write every staged change in a few statements;
- handlers ``handle_x(msg, *, uow, ctx) -> Outcome`` looked up by message type in one dict. A
  handler decides against ``uow`` in memory and stages its decision there; it never sees SQL.
  A handler whose command names an aggregate that does not exist yet returns ``Await`` (while
  ``ctx.may_wait``): the runtime parks the command until ``uow.exists`` says it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import psycopg
from pydantic import BaseModel

from schemas import Envelope, derive_id, make_event
from services.common.domain import Rejected

Connection = psycopg.Connection[Any]


class LostRace(psycopg.errors.SerializationFailure):
    """Another transaction created or changed what this batch read; the batch is decided again.

    A ``SerializationFailure`` so that ``is_transient`` sees it: a unit of work raises it when
    what it loaded changed under it.
    """


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish once the transaction commits."""

    topic: str
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Accepted:
    """The command was applied (or was a no-op); these messages go to the outbox."""

    messages: tuple[Outgoing, ...] = ()


@dataclass(frozen=True, slots=True)
class Ref:
    """An aggregate a command names, by kind (``invoice``, ``payment``, ``order``) and id."""

    kind: str
    tenant_id: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


@dataclass(frozen=True, slots=True)
class Await:
    """The command names aggregates that do not exist yet: it waits for them (DESIGN "Order and
    waiting") instead of being refused. Return it only while ``ctx.may_wait``."""

    refs: tuple[Ref, ...]


Outcome = Accepted | Rejected | Await


@dataclass(frozen=True, slots=True)
class MessageContext:
    """One message's view of the batch: the message, when it is applied, who emits for it."""

    message: Envelope
    now: datetime
    source: str
    # False once the command has waited as long as it may (or arrived older than that): then a
    # missing aggregate is decided as missing.
    may_wait: bool = True

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


class UnitOfWork(Protocol):
    """A service's state for one batch, inside the runtime's transaction."""

    def prepare(self, messages: Sequence[Envelope]) -> None:
        """Before the transaction, no row locks held: ask outside systems what the batch needs."""

    def load(self, messages: Sequence[Envelope]) -> None:
        """Lock and read every aggregate ``messages`` name, one query per table, in key order."""

    def mark(self) -> object:
        """A point to go back to if the next message's handler fails."""

    def undo(self, mark: object) -> None:
        """Drop everything staged since ``mark`` (aggregates are immutable values)."""

    def flush(self) -> None:
        """Write every staged change; a constraint failure raises and the runtime splits the
        batch to find the message that caused it."""

    def exists(self, ref: Ref) -> bool:
        """Whether ``ref`` exists now, staged changes included (it was loaded, or created)."""


U = TypeVar("U", bound=UnitOfWork)
U_contra = TypeVar("U_contra", bound=UnitOfWork, contravariant=True)


class Handler(Protocol[U_contra]):
    def __call__(self, msg: Envelope, *, uow: U_contra, ctx: MessageContext) -> Outcome: ...


def cause_key(message: Envelope) -> str:
    """What identifies a message for deriving ids: ids are unique only per tenant and source,
    so two tenants reusing a command id must still get distinct event ids."""
    return f"{message.tenantid}/{message.source}/{message.id}"
