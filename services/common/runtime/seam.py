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

import builtins
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import psycopg
from pydantic import BaseModel

from schemas import Envelope, derive_id, make_event
from schemas.registry import aggregate_field
from services.common.domain import Meta, Rejected

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
    """The command names aggregates that do not exist yet: it waits for them (docs/
    ARCHITECTURE.md "Waiting") instead of being refused. Return it only while ``ctx.may_wait``."""

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


# --- one declaration per command type ----------------------------------------------------------

C = TypeVar("C")
# What a spec's functions are given: the service's unit of work, or its in-memory stand-in.
S_contra = TypeVar("S_contra", contravariant=True)
Name = tuple[str, str]
"""An aggregate a command names, by kind and id, inside the command's tenant."""


def _names_nothing(cmd: Any) -> tuple[Name, ...]:
    return ()


def anyone(cmd: Any, meta: Meta, uow: Any) -> Rejected | None:
    """The policy of a command any ``user:``, ``admin:`` or ``system:`` actor may send (the
    codec admits no other actor)."""
    return None


@dataclass(frozen=True, slots=True)
class CommandSpec(Generic[C, S_contra]):
    """Everything about one command type, in one place (docs/ARCHITECTURE.md "One command").

    ``wire`` is its payload model in ``schemas/`` and ``topic`` the topic it arrives on;
    ``translate`` makes the domain command of a validated payload; ``loads`` names what the unit
    of work must lock and read for it, ``waits_for`` what of that it may wait for while it does
    not exist yet; ``policy`` says who may send it (checked before anything else, so a refused
    sender learns nothing); ``decide`` is the pure decision, given the batch's state; ``emits``
    lists every event (or derived command) type the decision may produce.
    """

    type: str
    topic: str
    wire: builtins.type[BaseModel]
    translate: Callable[[Any], C]
    decide: Callable[[C, Meta, S_contra], Any]
    emits: frozenset[str]
    loads: Callable[[C], Iterable[Name]] = _names_nothing
    waits_for: Callable[[C], Iterable[Name]] = _names_nothing
    policy: Callable[[C, Meta, S_contra], Rejected | None] = anyone


def translate_by_name(
    kind: builtins.type[C], convert: Callable[[str, Any], Any] | None = None
) -> Callable[[BaseModel], C]:
    """The translation of a validated payload into the domain command ``kind`` (a dataclass):
    each field from the payload field of the same name (the domain keeps the contract's names),
    through ``convert(name, value)`` where the domain holds another value (lists become tuples
    unless ``convert`` says otherwise)."""
    names = [f.name for f in dataclasses.fields(kind)]  # type: ignore[arg-type]
    change = convert or _tuples

    def translate(data: BaseModel) -> C:
        return kind(**{name: change(name, getattr(data, name)) for name in names})

    return translate


def _tuples(name: str, value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def subject_of(type_: str, data: Mapping[str, Any]) -> str:
    """The subject of an emitted message: its contract's aggregate field in ``data`` (the
    codec refuses any other), the same rule in every service."""
    field = aggregate_field(type_)
    if field is None:
        raise TypeError(f"{type_} names no aggregate; give its subject explicitly")
    return str(data[field])


def meta_of(msg: Envelope, now: datetime) -> Meta:
    """The envelope facts a decision records. ``at`` is the time of applying (docs/
    ARCHITECTURE.md "Meta.at"); the codec refuses a command without an actor, so "" is never
    seen in practice."""
    return Meta(msg.tenantid, msg.actor or "", msg.id, now, source=msg.source)


class CommandTable(Generic[U]):
    """The one dispatch of a service, derived from its ``CommandSpec``s.

    ``handlers`` is what the runtime looks messages up in; ``decide`` is the same path for a
    domain command (the tests and the chaos oracle use it): policy, then waiting, then the
    decision. ``accept`` (the service's) stages an accepted decision and makes its messages;
    ``event_types`` says which types a decision emits, checked against the spec's ``emits``.
    """

    def __init__(
        self,
        specs: Sequence[CommandSpec[Any, U]],
        *,
        accept: Callable[[U, MessageContext, Any], Outcome],
        event_types: Callable[[Any], Iterable[str]],
    ) -> None:
        self.specs: Mapping[str, CommandSpec[Any, U]] = {s.type: s for s in specs}
        if len(self.specs) != len(specs):
            raise ValueError("a command type is declared twice")
        self._accept = accept
        self._event_types = event_types
        self.handlers: Mapping[str, Handler[U]] = {t: self.handle for t in self.specs}
        # The last batch's translations, so the unit of work (``names``) and the handler do
        # not translate one message twice; keyed by object identity, the message kept alive.
        self._translated: dict[int, tuple[Envelope, Any]] = {}

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics the service's commands arrive on, in declaration order."""
        return tuple(dict.fromkeys(s.topic for s in self.specs.values()))

    @property
    def emitted(self) -> frozenset[str]:
        return frozenset().union(*(s.emits for s in self.specs.values()))

    def command(self, msg: Envelope) -> Any:
        """The domain command of ``msg`` (translated once per message)."""
        hit = self._translated.get(id(msg))
        if hit is not None and hit[0] is msg:
            return hit[1]
        spec = self.specs[msg.type]
        if not isinstance(msg.data, spec.wire):
            raise TypeError(
                f"{msg.type} carries {type(msg.data).__name__}, expected {spec.wire.__name__}"
            )
        cmd = spec.translate(msg.data)
        if len(self._translated) >= 4096:
            self._translated.clear()
        self._translated[id(msg)] = (msg, cmd)
        return cmd

    def names(self, msg: Envelope) -> tuple[Name, ...]:
        """What ``msg`` makes the unit of work load; nothing for a message it cannot translate
        (the handler meets that failure itself, and dead-letters only that message)."""
        spec = self.specs.get(msg.type)
        if spec is None:
            return ()
        try:
            return tuple(spec.loads(self.command(msg)))
        except (TypeError, ValueError):
            return ()

    def decide(self, cmd: Any, meta: Meta, *, uow: U, may_wait: bool) -> Any:
        """Policy, waiting, decision: a ``Rejected``, an ``Await`` or the service's decision."""
        spec = self.specs[cmd.type]
        if (refused := spec.policy(cmd, meta, uow)) is not None:
            return refused
        if may_wait:
            missing = tuple(
                ref
                for kind, id_ in spec.waits_for(cmd)
                if not uow.exists(ref := Ref(kind, meta.tenant_id, id_))
            )
            if missing:
                return Await(missing)
        decided = spec.decide(cmd, meta, uow)
        if not isinstance(decided, Rejected):
            undeclared = set(self._event_types(decided)) - spec.emits
            if undeclared:
                raise TypeError(f"{cmd.type} emitted {sorted(undeclared)}, not in its spec")
        return decided

    def handle(self, msg: Envelope, *, uow: U, ctx: MessageContext) -> Outcome:
        decided = self.decide(
            self.command(msg), meta_of(msg, ctx.now), uow=uow, may_wait=ctx.may_wait
        )
        if isinstance(decided, Rejected | Await):
            return decided
        return self._accept(uow, ctx, decided)
