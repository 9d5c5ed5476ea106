"""Messages out: the canonical encoding, the record key, and building a message to emit.

`make_event` validates what it builds like `decode` validates what is received; `encode_event`
writes the same bytes as `encode(make_event(...))` while validating only the payload.
"""

from __future__ import annotations

import re
from builtins import type as type_of
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from schemas.envelope import (
    _FIELD_NAMES,
    DATA_CONTENT_TYPE,
    SOURCE_PATTERN,
    TYPE_PATTERN,
    Envelope,
    _cross_checks,
    _validate,
)
from schemas.fields import ACTOR_PATTERN, EVENT_ID_PATTERN, ID_PATTERN, timestamp_json
from schemas.registry import MODELS, is_command
from schemas.tracing import child_traceparent, start_traceparent

__all__ = ["encode", "encode_event", "kafka_key", "kafka_key_of", "make_event"]


def encode(env: Envelope) -> bytes:
    """Compact JSON in the field order of the models, money as strings, absent fields omitted.

    The output is canonical: decoding it and encoding again gives the same bytes.
    """
    # pydantic-core writes the JSON itself (compact, UTF-8, no float in the contract).
    return env.__pydantic_serializer__.to_json(env, exclude_none=True)


def kafka_key(env: Envelope) -> bytes:
    """The record key: all messages of one aggregate of one tenant share a partition."""
    return kafka_key_of(env.tenantid, env.subject)


def kafka_key_of(tenantid: str, subject: str) -> bytes:
    """The record key of a message of `tenantid` about `subject` (`kafka_key`)."""
    return f"{tenantid}:{subject}".encode()


def make_event(
    type: str,
    data: BaseModel | Mapping[str, Any],
    *,
    id: str,
    source: str,
    time: datetime,
    tenantid: str,
    subject: str,
    cause: Envelope | None = None,
    actor: str | None = None,
) -> Envelope:
    """Build a message to emit (an event or a derived command), validated like a received one.

    `causationid` is the cause's id and `correlationid` the cause's correlation id (or its id),
    so a whole chain of messages can be traced back to the command that started it. `actor`
    defaults to the cause's: an event says on whose behalf it happened. The W3C trace context is
    the cause's trace (derived from the cause's tenant, source and id when it had none) with the
    span that handles the cause as parent (`child_traceparent`), and the cause's `tracestate`;
    an event without a cause starts the trace derived from its own tenant, source and id.
    Raises `MessageInvalid` if the result would not be accepted by `decode`.
    """
    model = MODELS.get(type)
    payload: Any
    if model is not None and type_of(data) is model:
        payload = data  # already a valid payload: pydantic-core takes the instance as it is
    elif isinstance(data, BaseModel):
        payload = data.model_dump(mode="python", exclude_none=True)
    else:
        payload = dict(data)
    obj: dict[str, Any] = {
        "specversion": "1.0",
        "id": id,
        "type": type,
        "source": source,
        "time": time,
        "subject": subject,
        "tenantid": tenantid,
        "data": payload,
        **_lineage(type, id=id, source=source, tenantid=tenantid, cause=cause, actor=actor),
    }
    # Its text comes from messages decode checked, or from the service itself.
    return _validate(obj, emitting=True, check_text=False)


def _lineage(
    type_: str, *, id: str, source: str, tenantid: str, cause: Envelope | None, actor: str | None
) -> dict[str, str]:
    """The attributes of a message to emit after its own (actor to tracestate, in the envelope's
    order): its actor, what it takes from its cause, its content type (`make_event`)."""
    found: dict[str, str] = {}
    if actor is None and cause is not None:
        actor = cause.actor
    if actor is not None:
        found["actor"] = actor
    if cause is not None:
        found["correlationid"] = cause.correlationid or cause.id
        found["causationid"] = cause.id
    found["datacontenttype"] = DATA_CONTENT_TYPE
    if cause is not None:
        found["traceparent"] = child_traceparent(cause)
        if cause.tracestate:
            found["tracestate"] = cause.tracestate
    elif not is_command(type_):
        # An event of the service's own clock (a timer's): the service starts its trace. A
        # command without a cause is the sender's to trace, or not.
        found["traceparent"] = start_traceparent(f"{tenantid}/{source}/{id}")
    return found


def encode_event(
    type: str,
    data: Mapping[str, Any],
    *,
    id: str,
    source: str,
    time: datetime,
    tenantid: str,
    subject: str,
    cause: Envelope | None = None,
    actor: str | None = None,
) -> bytes:
    """`encode(make_event(...))` of the same arguments, byte for byte, validating only the payload.

    Raises the `MessageInvalid` that `make_event` raises, word for word. The payload is validated
    once, by its model alone, and serialized by it; the attributes the caller gives (ids, source,
    time, an actor of its own) are checked against the contract's patterns rather than validated
    by the envelope model again, those taken from `cause` are a validated envelope's already, and
    the envelope's JSON is written around the payload's. Whatever those checks do not plainly
    accept goes through `make_event` itself, which then builds or refuses it.
    """
    model = _PLAIN_TYPES.get(type)
    attributes = _plain_attributes(
        type,
        id=id,
        source=source,
        time=time,
        tenantid=tenantid,
        subject=subject,
        actor=actor,
        lineage=_lineage(type, id=id, source=source, tenantid=tenantid, cause=cause, actor=actor),
    )
    payload = None if model is None or attributes is None else _plain_payload(model, data)
    if (
        attributes is None
        or payload is None
        or _cross_checks(type, attributes.get("actor"), subject, tenantid, payload)
    ):
        event = make_event(
            type,
            data,
            id=id,
            source=source,
            time=time,
            tenantid=tenantid,
            subject=subject,
            cause=cause,
            actor=actor,
        )
        return encode(event)
    body = payload.__pydantic_serializer__.to_json(payload, exclude_none=True)
    return b"".join((to_json(attributes)[:-1], b',"data":', body, b"}"))


def _plain_attributes(
    type_: str,
    *,
    id: str,
    source: str,
    time: datetime,
    tenantid: str,
    subject: str,
    actor: str | None,
    lineage: Mapping[str, str],
) -> dict[str, str] | None:
    """The envelope's attributes as JSON strings in the model's order, or None unless each the
    caller gave is one the envelope model takes unchanged (`type_` is the caller's to check).

    What `lineage` took from the cause is a validated envelope's already, and the trace context
    derived from it is valid by construction (`child_traceparent`).
    """
    if type_of(time) is not datetime or time.utcoffset() is None:
        return None
    own = [(id, _EVENT_ID), (source, _SOURCE), (subject, _ID), (tenantid, _ID)]
    if actor is not None:
        own.append((actor, _ACTOR))
    if not all(type_of(value) is str and plain(value) for value, plain in own):
        return None
    return {
        "specversion": "1.0",
        "id": id,
        "type": type_,
        "source": source,
        "time": timestamp_json(time),
        "subject": subject,
        "tenantid": tenantid,
        **lineage,
    }


def _plain_payload(model: type[BaseModel], data: Mapping[str, Any]) -> BaseModel | None:
    """`data` validated by `model`, or None unless it is a mapping of the model's fields that
    the model takes."""
    if not isinstance(data, Mapping) or not data.keys() <= _FIELD_NAMES[model]:
        return None
    try:
        return model.model_validate(dict(data))
    except ValidationError:
        return None


_EVENT_ID = re.compile(EVENT_ID_PATTERN).fullmatch
_SOURCE = re.compile(SOURCE_PATTERN).fullmatch
_ID = re.compile(ID_PATTERN).fullmatch
_ACTOR = re.compile(ACTOR_PATTERN).fullmatch
_PLAIN_TYPES: dict[str, type[BaseModel]] = {
    t: m for t, m in MODELS.items() if len(t) <= 64 and re.fullmatch(TYPE_PATTERN, t)
}
