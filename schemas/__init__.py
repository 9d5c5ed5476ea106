"""The wire contract of lunas: typed models of every message, and their Kafka codec."""

from __future__ import annotations

from schemas import topics
from schemas.emitting import encode, encode_event, kafka_key, kafka_key_of, make_event
from schemas.envelope import CONTENT_TYPE_HEADER, Envelope, FieldError, MessageInvalid, decode
from schemas.ids import derive_id
from schemas.registry import COMMAND_TYPES, EVENT_TYPES, data_model_for, is_command

__all__ = [
    "COMMAND_TYPES",
    "CONTENT_TYPE_HEADER",
    "EVENT_TYPES",
    "Envelope",
    "FieldError",
    "MessageInvalid",
    "data_model_for",
    "decode",
    "derive_id",
    "encode",
    "encode_event",
    "is_command",
    "kafka_key",
    "kafka_key_of",
    "make_event",
    "topics",
]
