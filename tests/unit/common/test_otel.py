"""The optional OpenTelemetry export (services/common/otel.py): a span per handled message,
whose span id is the parent every effect of that message carries."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas import Envelope
from schemas.examples import load_scenario
from schemas.tracing import span_id_of, trace_id
from services.common import otel
from services.common.runtime import reporting, steps
from services.common.runtime.decoded import Command
from services.common.runtime.seam import Accepted

SENDER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """Every service's spans, caught in memory instead of sent to a collector."""
    exporter = InMemorySpanExporter()
    for service in ("payment", "pickup", "notify"):
        otel.use(otel.Spans(service, SimpleSpanProcessor(exporter)))
    yield exporter
    for service in ("payment", "pickup", "notify"):
        otel.stop(service)


def _parent_hex(env: Envelope) -> str:
    assert env.traceparent is not None
    return env.traceparent.split("-")[2]


def test_a_commands_spans_share_its_trace_and_name_what_its_effects_carry(
    exported: InMemorySpanExporter,
) -> None:
    messages = load_scenario("payment_waiting")
    record = messages[0]
    assert record.traceparent is not None
    sent = record.model_copy(update={"traceparent": SENDER})
    otel.handled("payment", [(sent, "applied")], 0)
    (span,) = exported.get_finished_spans()
    assert span.context is not None and span.parent is not None
    assert f"{span.context.trace_id:032x}" == trace_id(SENDER)
    assert f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"  # the sender's span
    assert span.resource.attributes["service.name"] == "payment"


def test_command_events_and_notifications_form_one_trace(exported: InMemorySpanExporter) -> None:
    messages = load_scenario("payment_waiting")
    record = messages[0]
    caused = [m for m in messages if m.correlationid == record.id]
    assert {m.type for m in caused} >= {"command.waiting", "notification.created"}
    # payment_svc applies the command; notify_svc turns each event into notifications.
    otel.handled("payment", reporting.handled([_applied(record)]), 0)
    events = [m for m in caused if m.type != "notification.created"]
    otel.handled("notify", [(m, "notified") for m in events], 0)
    spans = {f"{s.context.span_id:016x}": s for s in exported.get_finished_spans() if s.context}
    assert len(spans) == 1 + len(events)
    assert {f"{s.context.trace_id:032x}" for s in spans.values() if s.context} == {
        trace_id(record.traceparent)
    }
    by_id = {m.id: m for m in messages}
    for message in caused:
        # Every effect's parent is the span of the message that caused it, exported.
        assert _parent_hex(message) == span_id_of(by_id[message.causationid or ""])
        assert _parent_hex(message) in spans
    command_span = spans[span_id_of(record)]
    assert command_span.parent is not None
    assert f"{command_span.parent.span_id:016x}" == _parent_hex(record)
    assert command_span.attributes is not None
    assert command_span.attributes["lunas.outcome"] == "applied"
    for event in events:
        event_span = spans[span_id_of(event)]
        assert event_span.parent is not None
        assert f"{event_span.parent.span_id:016x}" == span_id_of(record)
        assert event_span.resource.attributes["service.name"] == "notify"


def test_a_command_without_a_trace_is_the_root_of_the_one_it_starts(
    exported: InMemorySpanExporter,
) -> None:
    record = load_scenario("payment_waiting")[0].model_copy(update={"traceparent": None})
    otel.handled("payment", [(record, "applied")], 0)
    (span,) = exported.get_finished_spans()
    assert span.parent is None and span.context is not None
    assert f"{span.context.span_id:016x}" == span_id_of(record)


def test_an_unsampled_trace_is_not_exported(exported: InMemorySpanExporter) -> None:
    record = load_scenario("payment_waiting")[0]
    unsampled = record.model_copy(update={"traceparent": SENDER[:-2] + "00"})
    otel.handled("payment", [(unsampled, "applied")], 0)
    assert exported.get_finished_spans() == ()


def test_a_failing_export_costs_the_span_not_the_batch(exported: InMemorySpanExporter) -> None:
    def broken() -> Iterator[tuple[Envelope, str]]:
        raise RuntimeError("collector says no")
        yield  # pragma: no cover

    otel.handled("payment", broken(), 0)  # logged, not raised
    assert exported.get_finished_spans() == ()


def test_nothing_is_imported_or_exported_when_the_endpoint_is_unset() -> None:
    script = """
import sys
from schemas.examples import load_scenario
from services.common import otel
from services.common.runtime import consumer, reporting
from services.notify_svc import processing

otel.start("payment", None)
read = []
def messages():
    read.append(1)
    yield load_scenario("payment_waiting")[0], "applied"
otel.handled("payment", messages(), 0)
assert read == [], "messages were read"
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
assert loaded == [], loaded
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _applied(env: Envelope) -> steps.Applied:
    record: Any = None
    return steps.Applied(Command(record, env, record, ""), Accepted())


def test_an_endpoint_starts_a_batch_exporter_to_its_traces_url() -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    assert otel.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    otel.start("pickup", "http://127.0.0.1:9")
    try:
        assert isinstance(otel._EXPORTING["pickup"].processor, BatchSpanProcessor)
    finally:
        otel.stop("pickup")
    assert "pickup" not in otel._EXPORTING


def test_an_endpoint_without_the_extra_installed_exports_nothing() -> None:
    script = """
import sys
sys.modules["opentelemetry"] = None  # as without the otel extra: every import of it fails
from schemas.examples import load_scenario
from services.common import otel

otel.start("payment", "http://127.0.0.1:9")
assert "payment" not in otel._EXPORTING
otel.handled("payment", [(load_scenario("payment_waiting")[0], "applied")], 0)
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "ok"
    assert "otel.not_installed" in done.stdout + done.stderr
