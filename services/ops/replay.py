"""Planning ``lunas replay``: where a group's offsets go, per partition, and how far back that is.

Pure: the IO side (``replay_run``) gathers watermarks, committed offsets and timestamps and
hands them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Start = Literal["offset", "time", "earliest"]


class PlanError(ValueError):
    """The requested replay cannot be planned as asked."""


def parse_time(text: str) -> int:
    """ISO 8601 with a zone (``Z`` or ``+07:00``) to epoch milliseconds."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PlanError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise PlanError(f"{text!r} has no time zone; add Z or an offset like +07:00")
    return int(moment.astimezone(UTC).timestamp() * 1000)


@dataclass(frozen=True)
class PartitionState:
    """What is known of one partition before planning."""

    partition: int
    low: int
    high: int  # approximate on the embedded broker: may read low by up to a batch
    committed: int | None


@dataclass(frozen=True)
class PartitionPlan:
    partition: int
    committed: int | None
    new_offset: int
    low: int
    high: int
    note: str | None = None

    @property
    def to_replay(self) -> int | None:
        """Messages the group will consume again (negative: messages it would skip)."""
        if self.committed is None:
            return None
        return self.committed - self.new_offset

    def as_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "committed": self.committed,
            "new_offset": self.new_offset,
            "to_replay": self.to_replay,
            "low": self.low,
            "high_approximate": self.high,
            "note": self.note,
        }


@dataclass(frozen=True)
class ReplayPlan:
    group: str
    topic: str
    how: str
    partitions: list[PartitionPlan]
    notes: list[str] = field(default_factory=list)

    def new_offsets(self) -> dict[int, int]:
        return {p.partition: p.new_offset for p in self.partitions}

    def skips(self) -> list[PartitionPlan]:
        return [p for p in self.partitions if (p.to_replay or 0) < 0]

    def total_to_replay(self) -> int:
        return sum(max(0, p.to_replay or 0) for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "topic": self.topic,
            "how": self.how,
            "partitions": [p.as_dict() for p in self.partitions],
            "to_replay": self.total_to_replay(),
            "notes": self.notes,
        }


def plan_offsets(
    group: str,
    topic: str,
    states: Sequence[PartitionState],
    targets: Mapping[int, int],
    how: str,
    *,
    notes: Mapping[int, str] | None = None,
    true_ends: Mapping[int, int] | None = None,
) -> ReplayPlan:
    """A plan moving each partition to ``targets[p]``, clamped to what the log holds.

    ``true_ends`` are log ends found by reading (the watermark can read low); a target beyond
    the end would make the group fall back to ``auto.offset.reset`` and replay everything.
    """
    plans: list[PartitionPlan] = []
    for state in states:
        if state.partition not in targets:
            continue
        target = targets[state.partition]
        end = (true_ends or {}).get(state.partition, state.high)
        note = (notes or {}).get(state.partition)
        if target < state.low:
            note = f"{target} is before the log start; using {state.low}"
            target = state.low
        elif target > end:
            note = f"{target} is past the log end; using {end}"
            target = end
        if state.committed is None:
            # Without a commit the group starts at auto.offset.reset (earliest for lunas).
            note = "; ".join(filter(None, [note, "nothing committed before"]))
        plans.append(
            PartitionPlan(state.partition, state.committed, target, state.low, state.high, note)
        )
    if not plans:
        raise PlanError(f"{topic} has none of the requested partitions")
    return ReplayPlan(group, topic, how, plans)


# --- by time: check the broker's answer, else scan -----------------------------------------


@dataclass(frozen=True)
class TimeProbe:
    """The broker's ``offsets_for_times`` answer for one partition and what is around it."""

    answer: int  # -1: no message at or after the time
    first_ts: int | None  # timestamp of the first message in the log
    at_answer_ts: int | None  # timestamp of the message at ``answer``
    before_answer_ts: int | None  # timestamp of the message at ``answer - 1``


def trust_time_answer(probe: TimeProbe, wanted_ms: int, low: int) -> bool:
    """Whether the answer is the first offset with a timestamp at or after ``wanted_ms``.

    The embedded broker answered 0 for a time after the first message; an answer of -1 (the
    end) cannot be placed without the true end, which only reading finds. Both mean: scan.
    """
    if probe.answer < 0:
        return False
    if probe.answer <= low:
        return probe.first_ts is not None and probe.first_ts >= wanted_ms
    if probe.at_answer_ts is None or probe.at_answer_ts < wanted_ms:
        return False
    return probe.before_answer_ts is not None and probe.before_answer_ts < wanted_ms


def offset_at_time(timestamps: Sequence[tuple[int, int | None]], wanted_ms: int, end: int) -> int:
    """From a scan of (offset, timestamp): the first offset at or after the time, else ``end``.

    Timestamps need not be monotonic (producers set them): the first record at or after the
    time wins, so nothing from that time on is left out of the replay.
    """
    for offset, ts in sorted(timestamps):
        if ts is not None and ts >= wanted_ms:
            return offset
    return end


# --- following a replay ---------------------------------------------------------------------


def follow_progress(plan: ReplayPlan, committed_now: Mapping[int, int | None]) -> tuple[int, int]:
    """(done, total) messages of the replay, counting per partition from its new offset back to
    where the group was (or to the approximate end where nothing was committed)."""
    done = total = 0
    for p in plan.partitions:
        goal = p.committed if p.committed is not None else p.high
        span = max(0, goal - p.new_offset)
        now = committed_now.get(p.partition)
        progressed = 0 if now is None else min(span, max(0, now - p.new_offset))
        total += span
        done += progressed
    return done, total
