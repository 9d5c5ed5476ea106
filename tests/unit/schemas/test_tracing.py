"""W3C trace context on the envelope: kept when valid, dropped (never refused) when not, copied
from a cause to what it causes, and started deterministically when the sender gave none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import decode, encode, make_event
from schemas.tracing import (
    child_traceparent,
    span_id_of,
    start_traceparent,
    trace_id,
    valid_traceparent,
)

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
AT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _command(**extra: Any) -> bytes:
    body = {
        "specversion": "1.0",
        "id": "cmd-1",
        "type": "payment.confirm",
        "source": "/sfa",
        "time": AT.isoformat(),
        "subject": "PAY-1",
        "tenantid": "t1",
        "actor": "admin:ani",
        "data": {"payment_no": "PAY-1"},
        **extra,
    }
    return json.dumps(body).encode()


def test_a_valid_trace_context_is_kept_and_round_trips() -> None:
    env = decode(_command(traceparent=TRACE, tracestate="rojo=00f067aa0ba902b7"))
    assert (env.traceparent, env.tracestate) == (TRACE, "rojo=00f067aa0ba902b7")
    assert decode(encode(env)) == env


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        42,
    ],
)
def test_an_invalid_traceparent_is_dropped_not_refused(bad: Any) -> None:
    assert decode(_command(traceparent=bad)).traceparent is None


def test_a_later_version_is_read_by_its_first_four_fields() -> None:
    later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
    assert valid_traceparent(later) == TRACE


def test_what_a_command_causes_carries_its_trace_or_one_derived_from_its_identity() -> None:
    traced = decode(_command(traceparent=TRACE, tracestate="k=v"))
    untraced = decode(_command())
    for cause in (traced, untraced):
        event = make_event(
            "payment.confirmed",
            {
                "payment_no": "PAY-1",
                "customer_id": "C1",
                "amount": "1.00",
                "method": "cash",
                "payment_date": "2026-12-07",
                "status": "completed",
                "allocated": "0",
                "usage": "unused",
            },
            id="evt-1",
            source="/svc/payment",
            time=AT,
            tenantid="t1",
            subject="PAY-1",
            cause=cause,
        )
        trace = trace_id(cause.traceparent or start_traceparent("t1//sfa/cmd-1"))
        # The cause's trace, with the span that handled the cause as parent.
        assert event.traceparent == f"00-{trace}-{span_id_of(cause)}-01"
        assert event.traceparent == child_traceparent(cause)
        assert event.tracestate == cause.tracestate
    assert span_id_of(traced) != span_id_of(untraced)
    assert span_id_of(traced) != TRACE.split("-")[2]  # never the sender's own span
    derived = start_traceparent("t1//sfa/cmd-1")
    assert valid_traceparent(derived) == derived
    assert start_traceparent("t1//sfa/cmd-2") != derived
    assert trace_id(TRACE) == "4bf92f3577b34da6a3ce929d0e0e4736"
