"""W3C trace context on the envelope (the CloudEvents distributed-tracing extension:
`traceparent`, `tracestate`; docs/ARCHITECTURE.md "Following a command").

A received value that is not a valid trace context is dropped, not refused: W3C Trace Context
says a receiver that cannot parse `traceparent` starts a new trace, and a message is never lost
for its tracing. A trace the services start is derived from the command's identity (tenant,
source, id), never from randomness, so a redone batch emits the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, WithJsonSchema

from schemas.fields import Kind

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
# Printable ASCII, at most 512 characters (W3C: at most 32 list members of key=value).
TRACESTATE_PATTERN = r"^[\x20-\x7e]{1,512}$"
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_TRACESTATE = re.compile(TRACESTATE_PATTERN)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def valid_traceparent(value: Any) -> str | None:
    """`value` as a version-00 `traceparent`, or None when it is not one a tracer could use.

    A later version's value is read by its first four fields (W3C: forward compatible)."""
    if not isinstance(value, str):
        return None
    found = _TRACEPARENT.match(value.strip())
    if found is None:
        return None
    version, trace, span, flags, rest = found.groups()
    if version == "ff" or trace == _ZERO_TRACE or span == _ZERO_SPAN:
        return None
    if version == "00" and rest:
        return None
    return f"00-{trace}-{span}-{flags}"


def valid_tracestate(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _TRACESTATE.match(value) else None


Traceparent = Annotated[
    str | None,
    BeforeValidator(valid_traceparent),
    WithJsonSchema({"type": "string", "pattern": TRACEPARENT_PATTERN}),
    Kind("traceparent"),
]
"""W3C `traceparent`: version, trace id, parent span id, flags (`00-<32 hex>-<16 hex>-01`)."""

Tracestate = Annotated[
    str | None,
    BeforeValidator(valid_tracestate),
    WithJsonSchema({"type": "string", "pattern": TRACESTATE_PATTERN}),
    Kind("tracestate"),
]
"""W3C `tracestate`: vendor entries, passed on unchanged."""


def start_traceparent(key: str) -> str:
    """The `traceparent` of a trace a service starts for the message `key` names (tenant,
    source and id): the same key always gives the same trace, sampled."""
    digest = hashlib.sha256(f"lunas-trace/{key}".encode()).hexdigest()
    trace, span = digest[:32], digest[32:48]
    if trace == _ZERO_TRACE:  # pragma: no cover - a sha-256 prefix of zeros
        trace = "1" * 32
    if span == _ZERO_SPAN:  # pragma: no cover
        span = "1" * 16
    return f"00-{trace}-{span}-01"


class Traced(Protocol):
    @property
    def tenantid(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def traceparent(self) -> str | None: ...


def traceparent_of(message: Traced) -> str:
    """The trace what `message` causes carries: its own, or the one started for it."""
    return message.traceparent or start_traceparent(
        f"{message.tenantid}/{message.source}/{message.id}"
    )


def span_id_of(message: Traced) -> str:
    """The 16-hex span id of the work that handles `message` (a service applying a command,
    notify_svc turning an event into notifications): derived from its trace and identity, so
    what that work emits names it as parent and a redone batch emits the same bytes."""
    trace = traceparent_of(message).split("-")[1]
    key = f"lunas-span/{trace}/{message.tenantid}/{message.source}/{message.id}"
    span = hashlib.sha256(key.encode()).hexdigest()[:16]
    return "1" * 16 if span == _ZERO_SPAN else span


def child_traceparent(cause: Traced) -> str:
    """The `traceparent` of what `cause` causes: its trace and flags, with the span that
    handles `cause` (`span_id_of`) as parent."""
    _, trace, _, flags = traceparent_of(cause).split("-")
    return f"00-{trace}-{span_id_of(cause)}-{flags}"


def trace_id(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a `traceparent` (what log lines and `lunas trace` show)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 3 else None
