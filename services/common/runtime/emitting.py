"""The last step of the consumer's chain: what a batch writes besides the service's own state
(outbox rows, inbox outcomes, claims given back), and the offsets it commits. No IO."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from schemas import Envelope, derive_id, make_event
from services.common.domain import Rejected
from services.common.runtime.dlq import DeadLetter
from services.common.runtime.records import Record
from services.common.runtime.seam import cause_key
from services.common.runtime.steps import (
    Applied,
    Conflict,
    Duplicate,
    Failed,
    Letter,
    Poison,
    Refused,
    Result,
    Waiting,
    letter_key,
    letter_of,
)
from services.common.runtime.store import InboxClaim, InboxKey, OutboxRow
from services.common.runtime.waiting import waiting_event


@dataclass
class Emission:
    """What a batch writes besides the service's own state."""

    outbox: list[OutboxRow] = field(default_factory=list)
    settle: list[tuple[InboxKey, str]] = field(default_factory=list)
    # Claimed ids of messages that failed: their inbox rows are given back so that a redrive
    # from the DLQ can apply them; their dead letters are claimed instead.
    release: list[InboxKey] = field(default_factory=list)
    letters: list[InboxClaim] = field(default_factory=list)


def emit(
    results: Sequence[Result],
    *,
    consumer: str,
    service: str,
    source: str,
    rejections_topic: str,
    now: datetime,
) -> Emission:
    out = Emission()
    for result in results:
        match result:
            case Applied(command, accepted):
                out.outbox.extend(OutboxRow.of(o.topic, o.envelope) for o in accepted.messages)
                out.settle.append((command.key, "applied"))
            case Refused(command, rejected):
                row = rejection_row(command.envelope, rejected, source, rejections_topic, now)
                out.outbox.append(row)
                out.settle.append((command.key, f"rejected:{rejected.code}"))
            case Conflict(command):
                env = command.envelope
                rejected = Rejected(
                    "conflict",
                    f'message id "{env.id}" was already used for a different '
                    f"{env.type} command; use a new id for a new command",
                )
                out.outbox.append(
                    rejection_row(
                        env,
                        rejected,
                        source,
                        rejections_topic,
                        now,
                        purpose=f"conflict/{command.digest}",
                    )
                )
            case Letter(poison, key):
                out.outbox.append(dlq_row(letter_of(poison, service)))
                out.settle.append((key, f"dead_lettered:{poison.error}"))
            case Waiting(command, awaiting, until):
                event = waiting_event(command.envelope, awaiting, until, source, now)
                out.outbox.append(OutboxRow.of(rejections_topic, event))
                out.settle.append((command.key, "waiting"))
            case Failed(claimed, record, error):
                poison = Poison(record, "handler_error", error)
                letter = letter_of(poison, service)
                r = record
                key = letter_key(consumer, letter)
                out.release.append(claimed)
                out.letters.append(InboxClaim(key, "-", "-", r.topic, r.partition, r.offset))
                out.outbox.append(dlq_row(letter))
                out.settle.append((key, "dead_lettered:handler_error"))
            case Duplicate():
                pass
    return out


def rejection_row(
    env: Envelope,
    rejected: Rejected,
    source: str,
    topic: str,
    now: datetime,
    purpose: str = "rejected",
) -> OutboxRow:
    event = make_event(
        "command.rejected",
        {
            "command_id": env.id,
            "command_type": env.type,
            "code": rejected.code,
            "message": rejected.message,
        },
        id=derive_id(cause_key(env), purpose),
        source=source,
        time=now,
        tenantid=env.tenantid,
        subject=env.subject,
        cause=env,
    )
    return OutboxRow.of(topic, event)


def dlq_row(letter: DeadLetter) -> OutboxRow:
    return OutboxRow(
        letter.dlq_topic,
        letter.event_id,
        letter.key or b"",
        letter.dlq_value(),
        tuple(letter.dlq_headers()),
    )


def next_offsets(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """The offset to commit per partition: one past the last record of the batch."""
    last: dict[tuple[str, int], int] = {}
    for r in records:
        tp = (r.topic, r.partition)
        last[tp] = max(last.get(tp, -1), r.offset + 1)
    return last
