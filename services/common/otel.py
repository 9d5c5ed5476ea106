"""Optional OpenTelemetry export of the spans of a service's work (docs/ARCHITECTURE.md
"Following a command").

Off unless ``LUNAS_OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the ``otel`` extra is installed:
until then nothing of OpenTelemetry is imported and `handled` returns at once. A span is the
handling of one message (a command applied or refused, an event turned into notifications),
built after its batch committed, with the ids the messages already carry: its trace id and
parent are the message's `traceparent`, its span id is `span_id_of(message)` — the parent every
effect of that message carries (`child_traceparent`). So no context is kept between messages,
and a collector joins the spans of all three services into one trace. Spans go through a
BatchSpanProcessor (a queue and a thread of its own): an export that fails or a collector that
is away costs spans, never a message.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog

from schemas.envelope import Envelope
from schemas.tracing import span_id_of, traceparent_of

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor

log = structlog.get_logger(__name__)

_EXPORTING: dict[str, Spans] = {}


class Spans:
    """Hands the spans of one service's handled messages to `processor`."""

    def __init__(self, service: str, processor: SpanProcessor) -> None:
        from opentelemetry.sdk.resources import Resource

        self.service = service
        self.processor = processor
        self._resource: Resource = Resource.create({"service.name": service})

    def record(self, message: Envelope, outcome: str, start_ns: int, end_ns: int) -> None:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

        _, trace_hex, parent_hex, flags_hex = traceparent_of(message).split("-")
        flags = TraceFlags(int(flags_hex, 16))
        if not flags.sampled:  # the sender decided: this trace is not recorded
            return
        trace = int(trace_hex, 16)
        # A message without a trace of its sender's starts one here: its span is the root.
        parent = (
            SpanContext(trace, int(parent_hex, 16), is_remote=True, trace_flags=flags)
            if message.traceparent
            else None
        )
        span = ReadableSpan(
            name=f"process {message.type}",
            context=SpanContext(trace, int(span_id_of(message), 16), False, trace_flags=flags),
            parent=parent,
            resource=self._resource,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.message.id": message.id,
                "cloudevents.event_type": message.type,
                "cloudevents.event_source": message.source,
                "cloudevents.event_subject": message.subject,
                "lunas.tenant": message.tenantid,
                "lunas.correlation_id": message.correlationid or message.id,
                "lunas.outcome": outcome,
            },
            kind=SpanKind.CONSUMER,
            start_time=start_ns,
            end_time=end_ns,
        )
        self.processor.on_end(span)


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT)."""
    return endpoint.rstrip("/") + "/v1/traces"


def start(service: str, endpoint: str | None) -> None:
    """Export `service`'s spans to the collector at `endpoint` (nothing when it is None)."""
    if not endpoint:
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning("otel.not_installed", service=service, error=str(exc))
        return
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint)))
    use(Spans(service, processor))
    log.info("otel.exporting", service=service, endpoint=traces_url(endpoint))


def use(spans: Spans) -> None:
    _EXPORTING[spans.service] = spans


def stop(service: str) -> None:
    """Flush what is queued (a few seconds at most) and stop exporting `service`'s spans."""
    spans = _EXPORTING.pop(service, None)
    if spans is not None:
        try:
            spans.processor.shutdown()
        except Exception as exc:  # noqa: BLE001 - best effort: stopping must not fail on it
            log.warning("otel.shutdown_failed", service=service, error=str(exc))


def handled(service: str, messages: Iterable[tuple[Envelope, str]], start_ns: int) -> None:
    """The spans of `messages` (each with its outcome) handled from `start_ns` until now.

    Called after the batch committed; `messages` is not read when nothing is exported."""
    spans = _EXPORTING.get(service)
    if spans is None:
        return
    end_ns = time.time_ns()
    try:
        for message, outcome in messages:
            spans.record(message, outcome, start_ns, end_ns)
    except Exception as exc:  # noqa: BLE001 - a span must never cost a message
        log.warning("otel.span_failed", service=service, error=f"{type(exc).__name__}: {exc}")
