"""Prometheus metrics of the runtime, labelled by service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("lunas_messages_consumed_total", "Records polled", ["service", "topic"])
APPLIED = Counter("lunas_messages_applied_total", "Messages applied", ["service", "type"])
DUPLICATES = Counter("lunas_messages_duplicate_total", "Redeliveries skipped", ["service"])
REJECTED = Counter("lunas_commands_rejected_total", "Business refusals", ["service", "code"])
DEAD_LETTERED = Counter("lunas_messages_dead_lettered_total", "Sent to a DLQ", ["service", "error"])
TRANSIENT = Counter("lunas_transient_errors_total", "Retried failures", ["service", "where"])
BATCH_SECONDS = Histogram(
    "lunas_batch_seconds",
    "Time to apply and commit one batch",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("lunas_outbox_backlog", "Unsent outbox rows", ["service"])
OUTBOX_AGE = Gauge("lunas_outbox_oldest_seconds", "Age of the oldest unsent row", ["service"])
OUTBOX_PARKED = Gauge("lunas_outbox_parked", "Rows the broker refused for good", ["service"])
REFUSED = Counter(
    "lunas_outbox_refused_total", "Outbox rows the broker refused", ["service", "why"]
)
UNAUTHORIZED_TOPICS = Gauge(
    "lunas_outbox_unauthorized_topics",
    "Topics this service may not write (rows held until an ACL is fixed): alert when > 0",
    ["service"],
)
PUBLISHED = Counter("lunas_outbox_published_total", "Outbox rows published", ["service"])
LAG = Gauge(
    "lunas_consumer_lag",
    "High watermark minus position (approximate)",
    ["service", "topic", "partition"],
)
WAITING = Gauge("lunas_waiting_commands", "Commands waiting for what they name", ["service"])
WAITING_AGE = Gauge(
    "lunas_waiting_oldest_seconds", "Age of the oldest waiting command", ["service"]
)
WAITING_PARKED = Counter(
    "lunas_commands_waited_total", "Commands parked to wait for what they name", ["service"]
)
