"""Structured logging (structlog): JSON unless on a terminal; correlation ids bound per message.

A line about one message carries its ``trace_id`` (the W3C trace id of its ``traceparent``,
schemas/tracing.py), so an APM's trace and the logs of every service it crossed line up."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now; a logger cached earlier keeps working after
    the stream is swapped (test runners, daemonizing)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: str = "auto", to: IO[str] | None = None) -> None:
    """Configure structlog and the standard library; ``to`` (a file) gets JSON lines instead
    of stderr (``lunas run`` on a terminal keeps the screen for people)."""
    use_json = to is not None or fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(to or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=level.upper(),
        stream=to or sys.stderr,
        format="%(name)s %(message)s",
        force=to is not None,
    )
    # librdkafka and aiokafka are chatty at INFO.
    for noisy in ("aiokafka", "kafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class LibrdkafkaLog:
    """The ``logger`` of every confluent-kafka client: librdkafka's own lines go to the structured
    log, not as raw ``%3|…|FAIL|`` lines on stderr.

    confluent-kafka calls ``log(level, "%s [%s] %s", facility, client, text)`` from ``poll`` with
    librdkafka's syslog level already mapped to a Python level (0-2 CRITICAL, 3 ERROR, 4 WARNING,
    5-6 INFO, 7 DEBUG), so ``LUNAS_LOG_LEVEL`` filters them like any other line.
    """

    def log(self, level: int, fmt: str, *args: object) -> None:
        if len(args) == 3:
            facility, client, text = (str(a) for a in args)
        else:
            facility, client, text = "", "", fmt % args
        _librdkafka.log(level, "kafka.client_log", facility=facility, client=client, text=text)


_librdkafka = structlog.get_logger("librdkafka")


def bind_message_context(**values: Any) -> None:
    """Bind correlation id, message id etc. for every log line until cleared."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)
