"""``lunas dlq``: read dead letters (headers of ``services.common.runtime.dlq``) and redrive them.

Redriving republishes the original key, value and non-``lunas.`` headers to the original topic;
what was redriven is remembered as the committed offsets of the group ``lunas.ops.redrive``
on the DLQ topic, so redriving "all" twice sends nothing the second time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import TopicPartition

from schemas import topics
from services.common.runtime.records import Record
from services.common.settings import Settings
from services.ops import kafka_io
from services.ops.kafka_io import TP, OpsError

REDRIVE_GROUP = "lunas.ops.redrive"
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class DeadLetterView:
    """One DLQ record as an operator reads it."""

    record: Record

    def header(self, name: str) -> str | None:
        for key, value in self.record.headers:
            if key == name:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def original_topic(self) -> str | None:
        found = self.header("lunas.original.topic")
        if found:
            return found
        # Older or foreign letters without the header: the DLQ name says where it came from.
        name = self.record.topic
        return name[: -len(DLQ_SUFFIX)] if name.endswith(DLQ_SUFFIX) else None

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.record.headers if not k.startswith("lunas.")]

    def original_key(self) -> bytes | None:
        # The runtime stores a missing key as b"": give it back as "no key".
        return self.record.key or None

    def message_attrs(self) -> tuple[str | None, str | None]:
        """The message's id and type when its value is a JSON object (valid or not)."""
        try:
            obj = json.loads(self.record.value or b"")
        except ValueError:
            return None, None
        if not isinstance(obj, dict):
            return None, None
        found = [obj.get("id"), obj.get("type")]
        return tuple(v if isinstance(v, str) else None for v in found)  # type: ignore[return-value]

    def summary(self) -> dict[str, Any]:
        message_id, message_type = self.message_attrs()
        partition, offset = (
            self.header("lunas.original.partition"),
            self.header("lunas.original.offset"),
        )
        return {
            "topic": self.record.topic,
            "partition": self.record.partition,
            "offset": self.record.offset,
            "time": _iso(self.record.timestamp_ms),
            "error": self.header("lunas.error"),
            "service": self.header("lunas.service"),
            "original_topic": self.original_topic,
            "original_partition": int(partition) if partition and partition.isdigit() else None,
            "original_offset": int(offset) if offset and offset.isdigit() else None,
            "message_id": message_id,
            "message_type": message_type,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "error_detail": self.header("lunas.error.detail"),
            "key": _text(self.record.key),
            "headers": [[k, _text(v)] for k, v in self.record.headers],
            "body": _body(self.record.value),
        }


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode()


def _body(raw: bytes | None) -> Any:
    """The value as JSON when it is JSON, else as text (or base64 for binary)."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _text(raw)


def is_dlq(topic: str) -> bool:
    return topic.endswith(DLQ_SUFFIX)


@dataclass(frozen=True)
class RedriveSelection:
    chosen: list[DeadLetterView]
    commit: dict[TP, int]
    notes: list[str]


def select_for_redrive(
    letters: Sequence[DeadLetterView],
    committed: Mapping[TP, int | None],
    *,
    only: tuple[int, int] | None = None,
) -> RedriveSelection:
    """Which letters to redrive and which offsets to commit afterwards.

    ``only`` = (partition, offset) picks one letter whatever was redriven before; the
    remembered position moves only if that letter is the next one, so a later ``--all`` never
    skips a letter that was not redriven.
    """
    notes: list[str] = []
    if only is not None:
        chosen = [v for v in letters if (v.record.partition, v.record.offset) == only]
        commit: dict[TP, int] = {}
        for v in chosen:
            tp = (v.record.topic, v.record.partition)
            done = committed.get(tp) or 0
            if v.record.offset < done:
                notes.append(f"{tp[0]}/{tp[1]}@{v.record.offset} was redriven before")
            elif v.record.offset == done:
                commit[tp] = v.record.offset + 1
            else:
                notes.append(
                    f"earlier letters of {tp[0]}/{tp[1]} are not redriven yet, so "
                    f"`--all` will send {v.record.offset} again (the services' inbox drops "
                    "a duplicate of an applied command)"
                )
        return RedriveSelection(chosen, commit, notes)
    chosen = [
        v
        for v in letters
        if v.record.offset >= (committed.get((v.record.topic, v.record.partition)) or 0)
    ]
    commit = {}
    for v in chosen:
        tp = (v.record.topic, v.record.partition)
        commit[tp] = max(commit.get(tp, 0), v.record.offset + 1)
    return RedriveSelection(chosen, commit, notes)


# --- IO -------------------------------------------------------------------------------------


def dlq_topics(settings: Settings, topic: str | None) -> list[str]:
    adm = kafka_io.admin(settings)
    existing = kafka_io.existing_topics(adm)
    if topic is not None:
        name = topic if is_dlq(topic) else topics.dlq_topic(topic)
        if name not in existing:
            raise OpsError(f"topic {name!r} does not exist")
        return [name]
    return [t for t in existing if is_dlq(t)]


def read_letters(
    settings: Settings, dlq_topic_names: Sequence[str], starts: Mapping[TP, int] | None = None
) -> list[DeadLetterView]:
    """Every letter of these DLQ topics (from ``starts`` where given), in partition order."""
    adm = kafka_io.admin(settings)
    begin: dict[TP, int] = {}
    for name in dlq_topic_names:
        for p in kafka_io.topic_partitions(adm, name):
            begin[(name, p)] = (starts or {}).get((name, p)) or 0
    consumer = kafka_io.reader(settings)
    try:
        records = kafka_io.read_records(consumer, begin)
    finally:
        consumer.close()
    records.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return [DeadLetterView(r) for r in records]


def show_letter(settings: Settings, topic: str, partition: int, offset: int) -> DeadLetterView:
    consumer = kafka_io.reader(settings)
    try:
        kafka_io.topic_partitions(kafka_io.admin(settings), topic)
        record = kafka_io.read_one(consumer, topic, partition, offset)
    finally:
        consumer.close()
    if record is None:
        raise OpsError(f"no record at {topic}/{partition}@{offset}")
    return DeadLetterView(record)


@dataclass(frozen=True)
class RedriveReport:
    dlq_topic: str
    selected: list[dict[str, Any]]
    delivered: int
    failed: list[dict[str, Any]]
    committed: dict[str, int]
    notes: list[str]
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "dlq_topic": self.dlq_topic,
            "dry_run": self.dry_run,
            "selected": self.selected,
            "delivered": self.delivered,
            "failed": self.failed,
            "remembered": self.committed,
            "notes": self.notes,
        }


def redrive(
    settings: Settings,
    topic: str,
    *,
    only: tuple[int, int] | None,
    dry_run: bool,
) -> RedriveReport:
    """Republish the chosen letters to their original topics, then remember them."""
    if not is_dlq(topic):
        raise OpsError(f"{topic!r} is not a dead-letter topic (its name ends with {DLQ_SUFFIX})")
    adm = kafka_io.admin(settings)
    partitions = kafka_io.topic_partitions(adm, topic)
    tps = [(topic, p) for p in partitions]
    committed = kafka_io.committed_offsets(adm, REDRIVE_GROUP, tps)
    if only is not None:
        letter = show_letter(settings, topic, *only)
        selection = select_for_redrive([letter], committed, only=only)
    else:
        starts = {tp: committed.get(tp) or 0 for tp in tps}
        selection = select_for_redrive(read_letters(settings, [topic], starts), committed)
    unroutable = [v for v in selection.chosen if not v.original_topic]
    if unroutable:
        raise OpsError(
            f"letters without an original topic: {[v.record.offset for v in unroutable]}"
        )
    selected = [v.summary() for v in selection.chosen]
    if dry_run or not selection.chosen:
        return RedriveReport(topic, selected, 0, [], {}, selection.notes, dry_run)
    outcomes = kafka_io.deliver(
        kafka_io.producer(settings),
        [
            (v.original_topic or "", v.original_key(), v.record.value or b"", v.original_headers())
            for v in selection.chosen
        ],
    )
    failed = [
        {**v.summary(), "delivery_error": err}
        for v, err in zip(selection.chosen, outcomes, strict=True)
        if err is not None
    ]
    commit = _commit_upto_first_failure(selection, outcomes)
    if commit:
        _remember(settings, commit)
    return RedriveReport(
        topic,
        selected,
        len(selection.chosen) - len(failed),
        failed,
        {f"{t}/{p}": o for (t, p), o in sorted(commit.items())},
        selection.notes,
        dry_run,
    )


def _commit_upto_first_failure(
    selection: RedriveSelection, outcomes: Sequence[str | None]
) -> dict[TP, int]:
    # A letter that failed to send must be sent by the next redrive: stop remembering there.
    blocked: set[TP] = set()
    commit: dict[TP, int] = {}
    for view, err in zip(selection.chosen, outcomes, strict=True):
        tp = (view.record.topic, view.record.partition)
        if err is not None:
            blocked.add(tp)
        elif tp not in blocked and tp in selection.commit:
            commit[tp] = min(view.record.offset + 1, selection.commit[tp])
    return commit


def _remember(settings: Settings, commit: Mapping[TP, int]) -> None:
    consumer = kafka_io.reader(settings, group_id=REDRIVE_GROUP)
    try:
        consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in sorted(commit.items())],
            asynchronous=False,
        )
    finally:
        consumer.close()
