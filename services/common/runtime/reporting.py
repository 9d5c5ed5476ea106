"""What a batch's results tell the operator: the runtime's metrics and one log line for each
refusal, wait, dead letter and handler failure, each with its own message's ids."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import structlog

from schemas.envelope import Envelope
from schemas.tracing import trace_id, traceparent_of
from services.common.runtime import metrics, steps
from services.common.runtime.records import Record

log = structlog.get_logger("services.common.runtime.consumer")


def count(results: Sequence[steps.Result], service: str) -> None:
    for result in results:
        match result:
            case steps.Applied(command):
                metrics.APPLIED.labels(service, command.envelope.type).inc()
            case steps.Refused(command, rejected):
                metrics.REJECTED.labels(service, rejected.code).inc()
                _message("consumer.rejected", command, code=rejected.code, reason=rejected.message)
            case steps.Conflict(command):
                metrics.REJECTED.labels(service, "conflict").inc()
                _message("consumer.rejected", command, code="conflict")
            case steps.Duplicate():
                metrics.DUPLICATES.labels(service).inc()
            case steps.Letter(poison):
                dead_lettered(service, poison.record, poison.error, poison.detail)
            case steps.Failed(_, record, error):
                dead_lettered(service, record, "handler_error", error)
            case steps.Waiting(command):
                metrics.WAITING_PARKED.labels(service).inc()
                _message("consumer.waiting", command)


def handled(results: Sequence[steps.Result]) -> Iterator[tuple[Envelope, str]]:
    """The commands this batch finished with their outcome (a waiting one is finished when it
    is applied or refused), for their spans (services/common/otel.py)."""
    for result in results:
        match result:
            case steps.Applied(command):
                yield command.envelope, "applied"
            case steps.Refused(command, rejected):
                yield command.envelope, f"rejected:{rejected.code}"
            case steps.Conflict(command):
                yield command.envelope, "rejected:conflict"


def dead_lettered(service: str, record: Record, error: str, detail: str) -> None:
    metrics.DEAD_LETTERED.labels(service, error).inc()
    log.warning(
        "consumer.dead_lettered",
        error=error,
        detail=detail[:500],
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )


def handler_failed(command: steps.Command, exc: Exception) -> None:
    env = command.envelope
    log.error(
        "consumer.handler_failed",
        message_id=env.id,
        type=env.type,
        tenant=env.tenantid,
        trace_id=trace_id(traceparent_of(env)),
        error=f"{type(exc).__name__}: {exc}",
        exc_info=exc,
    )


def _message(event: str, command: steps.Command, **fields: Any) -> None:
    env = command.envelope
    log.info(
        event,
        message_id=env.id,
        type=env.type,
        tenant=env.tenantid,
        correlation_id=env.correlationid or env.id,
        trace_id=trace_id(traceparent_of(env)),
        **fields,
    )
