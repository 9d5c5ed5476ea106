"""When a read "to the end" may stop, and the status/verify figures built from raw answers."""

from __future__ import annotations

from services.ops.kafka_io import ReadState, read_finished
from services.ops.status import group_rows
from services.ops.verify import combined_digest

TP0 = ("t", 0)


def state(next_offset: int, high: int, quiet: float, stop: int | None = None) -> ReadState:
    return ReadState({TP0: next_offset}, {TP0: high}, {TP0: stop}, quiet, 1.0)


def test_the_watermark_alone_does_not_end_a_read() -> None:
    # The embedded broker's watermark can read low: records may follow it.
    assert not read_finished(state(next_offset=6, high=6, quiet=0.1))


def test_quiet_alone_does_not_end_a_read() -> None:
    assert not read_finished(state(next_offset=3, high=6, quiet=5.0))


def test_quiet_at_the_watermark_ends_a_read() -> None:
    assert read_finished(state(next_offset=10, high=6, quiet=1.0))


def test_a_read_with_a_stop_ends_there_at_once() -> None:
    assert read_finished(state(next_offset=4, high=100, quiet=0.0, stop=4))
    assert not read_finished(state(next_offset=3, high=100, quiet=9.0, stop=4))


def test_lag_is_end_minus_committed_and_unknown_without_a_commit() -> None:
    rows = group_rows({("a", 0): 5, ("a", 1): None}, {("a", 0): 9, ("a", 1): 4})
    assert [(r["partition"], r["lag_approximate"]) for r in rows] == [(0, 4), (1, None)]
    # A committed offset past the (low-reading) watermark is no negative lag.
    assert group_rows({("a", 0): 12}, {("a", 0): 9})[0]["lag_approximate"] == 0


def test_the_combined_digest_depends_on_every_schema_but_not_on_order() -> None:
    one = combined_digest({"payment": "p1", "pickup": "k1"})
    assert one == combined_digest({"pickup": "k1", "payment": "p1"})
    assert one != combined_digest({"payment": "p1", "pickup": "k2"})
    assert one != combined_digest({"payment": "p1", "pickup": None})


def test_a_stable_group_counts_as_running_even_without_listed_members() -> None:
    from services.ops.kafka_io import GroupInfo

    assert GroupInfo("g", "stable", ()).active
    assert GroupInfo("g", "empty", ("svc@host",)).active
    assert not GroupInfo("g", "empty", ()).active
    assert not GroupInfo("g", "dead", ()).active
