"""The consumer's steps, each with one contract and no IO of its own: decode → route → dedupe →
apply → emit. ``consumer.py`` runs them inside one transaction per batch; each is unit-tested
with fakes.

- ``decode``: bytes → a ``Command`` (typed envelope, inbox key, content hash) or ``Poison``
  (why it can never be applied). Whatever the bytes, it returns; it never raises.
- ``route`` (inside ``decode``): a type not accepted on its topic is poison (``misrouted``), a type
  no handler takes is poison (``unknown_type``).
- ``claims`` / ``dedupe``: one inbox claim per distinct id; what the inbox already held, and ids
  repeated inside the batch, become duplicates (same content) or conflicts (other content).
- ``apply``: each new command's handler, in arrival order, against the unit of work; a handler
  that raises loses only what it staged and is dead-lettered; a command that names what does
  not exist yet waits (``waiting.py``), and is applied once it does.
- ``emit`` (``emitting.py``): the outbox rows and the inbox outcomes of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic

from schemas import MessageInvalid, decode
from services.common.domain import Rejected
from services.common.runtime.decoded import Command as Command
from services.common.runtime.dlq import DeadLetter
from services.common.runtime.records import Record
from services.common.runtime.retry import is_transient
from services.common.runtime.seam import (
    Accepted,
    Await,
    Handler,
    MessageContext,
    Ref,
    U,
)
from services.common.runtime.store import InboxClaim, InboxKey, Seen, content_hash
from services.common.runtime.waiting import Parked, Subject, WaitBook, may_wait

# --- decode and route -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that can never be applied, and why."""

    record: Record
    error: str
    detail: str


@dataclass(frozen=True, slots=True)
class Router:
    """What ``decode`` needs to know of the service: its consumer name, topics and handlers."""

    consumer: str
    topic_types: Mapping[str, frozenset[str]]
    handled: frozenset[str]
    service: str


def decode_record(record: Record, router: Router) -> Command | Poison:
    try:
        env = decode(record.value, record.headers)
    except MessageInvalid as exc:
        return Poison(record, exc.reason, str(exc))
    except Exception as exc:  # noqa: BLE001 - a codec bug must not stop the partition either
        return Poison(record, "undecodable", f"{type(exc).__name__}: {str(exc)[:300]}")
    allowed = router.topic_types.get(record.topic)
    if allowed is not None and env.type not in allowed:
        # Topic ACLs are the authority on who may send what: a type that does not belong on
        # this topic (an admin command on the seller's topic) is refused, never applied.
        return Poison(
            record, "misrouted", f'"{env.type}" messages are not accepted on {record.topic}'
        )
    if env.type not in router.handled:
        return Poison(
            record,
            "unknown_type",
            f'{router.service} does not handle messages of type "{env.type}" on {record.topic}',
        )
    try:
        digest = content_hash(env)
    except UnicodeError as exc:  # text the codec let through but that has no UTF-8 form
        return Poison(record, "invalid", f"text that cannot be encoded as UTF-8: {exc}")
    key = InboxKey(router.consumer, env.tenantid, env.source, env.id)
    return Command(record, env, key, digest)


# --- claim and dedupe -------------------------------------------------------------------------


def letter_key(consumer: str, letter: DeadLetter) -> InboxKey:
    # The empty tenant is reserved: no decoded message can claim a dead letter's key.
    return InboxKey(consumer, "", "kafka", letter.event_id)


def letter_of(poison: Poison, service: str) -> DeadLetter:
    return DeadLetter.for_record(
        poison.record, error=poison.error, detail=poison.detail, service=service
    )


def claims(items: Sequence[Command | Poison], consumer: str, service: str) -> list[InboxClaim]:
    """One claim per distinct inbox key, in arrival order (the first occurrence's content)."""
    found: dict[InboxKey, InboxClaim] = {}
    for item in items:
        r = item.record
        if isinstance(item, Command):
            claim = InboxClaim(
                item.key, item.digest, item.envelope.type, r.topic, r.partition, r.offset
            )
        else:
            key = letter_key(consumer, letter_of(item, service))
            claim = InboxClaim(key, "-", "-", r.topic, r.partition, r.offset)
        found.setdefault(claim.key, claim)
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Apply:
    command: Command


@dataclass(frozen=True, slots=True)
class Duplicate:
    command: Command


@dataclass(frozen=True, slots=True)
class Conflict:
    command: Command


@dataclass(frozen=True, slots=True)
class Letter:
    poison: Poison
    key: InboxKey


Work = Apply | Duplicate | Conflict | Letter


def dedupe(
    items: Sequence[Command | Poison],
    seen: Mapping[InboxKey, Seen],
    consumer: str,
    service: str,
) -> list[Work]:
    """What to do with each item, given what the inbox already held before this batch."""
    first: dict[InboxKey, str] = {}  # key → digest of its first occurrence in this batch
    work: list[Work] = []
    for item in items:
        if isinstance(item, Poison):
            key = letter_key(consumer, letter_of(item, service))
            if key not in seen and key not in first:
                first[key] = "-"
                work.append(Letter(item, key))
            continue
        earlier = seen.get(item.key)
        digest = earlier.content_hash if earlier is not None else first.get(item.key)
        if digest is None:
            first[item.key] = item.digest
            work.append(Apply(item))
        elif digest == item.digest:
            work.append(Duplicate(item))
        else:
            work.append(Conflict(item))
    return work


# --- apply ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    command: Command
    accepted: Accepted


@dataclass(frozen=True, slots=True)
class Refused:
    command: Command
    rejected: Rejected


@dataclass(frozen=True, slots=True)
class Failed:
    """A handler raised: a bug or data the handler cannot take. Its staged changes are gone."""

    key: InboxKey
    record: Record
    error: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """A command of this batch that waits, at the end of the batch, for what it names
    (``awaiting``; for one queued behind a waiting command of its subject, what that one
    awaits) until ``until``."""

    command: Command
    awaiting: tuple[Ref, ...] = ()
    until: datetime | None = None


Result = Applied | Refused | Failed | Duplicate | Conflict | Letter | Waiting


def apply(
    work: Sequence[Work],
    uow: U,
    handlers: Mapping[str, Handler[U]],
    *,
    now: datetime,
    source: str,
    book: WaitBook | None = None,
    on_failure: Callable[[Command, Exception], None] = lambda _c, _e: None,
) -> list[Result]:
    """Run each new command's handler in arrival order against ``uow``, with waiting.

    A transient error (the database went away) propagates: the whole batch is retried. Any other
    exception undoes what that one message staged and makes it ``Failed``. A command that names
    what does not exist yet (``Await``), or whose subject has a command waiting, is parked in
    ``book``; whatever it waited for appearing releases it, in arrival order (``waiting.py``).
    """
    return _Applier(uow, handlers, now, source, book or WaitBook(), on_failure).run(work)


class _Applier(Generic[U]):
    def __init__(
        self,
        uow: U,
        handlers: Mapping[str, Handler[U]],
        now: datetime,
        source: str,
        book: WaitBook,
        on_failure: Callable[[Command, Exception], None],
    ) -> None:
        self.uow, self.handlers, self.now, self.source = uow, handlers, now, source
        self.book, self.on_failure = book, on_failure
        self.results: list[Result] = []

    def run(self, work: Sequence[Work]) -> list[Result]:
        # What a sweep found expired, or what appeared since it was parked: every subject, once.
        self.release(set(self.book.queues), expired_too=True)
        for item in work:
            if isinstance(item, Apply):
                self.new(item.command)
            else:
                self.results.append(item)
        self.results += [
            Waiting(row.command, self.book.awaited(row), row.deadline)
            for row in self.book.remaining()
            if row.seq is None and row.command is not None
        ]
        return self.results

    def new(self, command: Command) -> None:
        env = command.envelope
        subject = (env.tenantid, env.subject)
        if self.book.blocked(subject):
            if self.book.has_room(env.tenantid):
                self.book.park(self.parked(command, ()))
            else:
                self.results.append(Refused(command, self.full(env.tenantid, "its subject")))
            return
        outcome = self.decide(command, may_wait(env.time, self.now, self.book.limits))
        if isinstance(outcome, Await):
            if self.book.has_room(env.tenantid):
                self.book.park(self.parked(command, outcome.refs))
            else:
                what = ", ".join(str(r) for r in outcome.refs)
                self.results.append(Refused(command, self.full(env.tenantid, what)))
            return
        self.results.append(outcome)
        if isinstance(outcome, Applied) and self.book.queues:
            self.release({subject})

    def release(self, touched: set[Subject], *, expired_too: bool = False) -> None:
        """Apply the parked commands that may go now, in arrival order per subject, starting from
        the ``touched`` subjects (an applied command may have created its subject's aggregate):
        their own queues and the queues of rows awaiting them; each release touches in turn. With
        ``expired_too``, a row that waited as long as it may is decided at once, whatever waits
        before it."""
        pending = set(touched)
        while pending:
            subject = pending.pop()
            subjects = {subject, *self.book.awaiting(subject)}
            for queue_subject in subjects:
                for row in self.book.candidates(
                    queue_subject, expired_too=expired_too, now=self.now
                ):
                    expired = self.now >= row.deadline
                    if not (expired or all(self.uow.exists(r) for r in row.awaits)):
                        continue
                    if self.retry(row, expired=expired):
                        pending.add(row.subject)

    def retry(self, row: Parked, *, expired: bool) -> bool:
        """Decide a parked command again; True if it left the book."""
        position = self.book.queues[row.subject].index(row)
        self.book.take(row)
        if row.command is None:  # its stored record no longer decodes: dead-letter it
            self.results.append(Failed(row.key, row.record, "waiting command cannot be decoded"))
            return True
        outcome = self.decide(row.command, may_wait=not expired)
        if isinstance(outcome, Await):
            row.awaits = outcome.refs
            self.book.requeue(row, position)
            return False
        self.results.append(outcome)
        return True

    def decide(self, command: Command, may_wait: bool) -> Applied | Refused | Failed | Await:
        env = command.envelope
        mark = self.uow.mark()
        ctx = MessageContext(env, self.now, self.source, may_wait=may_wait)
        try:
            outcome = self.handlers[env.type](env, uow=self.uow, ctx=ctx)
        except Exception as exc:
            if is_transient(exc):
                raise
            self.uow.undo(mark)
            self.on_failure(command, exc)
            return Failed(command.key, command.record, f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, Rejected | Await):
            self.uow.undo(mark)  # a refusal or a wait changes nothing, whatever was staged
            return Refused(command, outcome) if isinstance(outcome, Rejected) else outcome
        return Applied(command, outcome)

    def parked(self, command: Command, awaits: tuple[Ref, ...]) -> Parked:
        env = command.envelope
        return Parked(
            key=command.key,
            record=command.record,
            subject=(env.tenantid, env.subject),
            message_type=env.type,
            awaits=awaits,
            deadline=env.time + self.book.limits.timeout,
            command=command,
        )

    def full(self, tenant_id: str, what: str) -> Rejected:
        limit = self.book.limits.per_tenant
        return Rejected(
            "not_found",
            f"{what} not found yet, and tenant {tenant_id} already has {limit} commands waiting"
            " (the limit): send it again once what it names exists",
        )
