"""`lunas schemas export`: one JSON Schema per message type and an AsyncAPI 3.0 document.

The JSON Schemas describe what `decode` accepts; a few rules need two fields at once (the
envelope `subject` equals the aggregate id in `data`, allocations add up) and only `decode`
enforces those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from schemas import topics
from schemas.envelope import CONTENT_TYPE, EXTENSION_NAME, EnvelopeAttributes
from schemas.registry import MODELS, TOPIC_TYPES, aggregate_field, is_command

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = "asyncapi.yaml"
API_VERSION = "1.0.0"


def schema_file(type_: str) -> str:
    return f"{type_}.schema.json"


def message_schema(type_: str) -> dict[str, Any]:
    """The JSON Schema of a whole message (envelope and `data`) of one type."""
    model = MODELS[type_]
    command = is_command(type_)
    data = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    defs = data.pop("$defs", {})
    envelope = EnvelopeAttributes.model_json_schema(mode="validation")
    properties: dict[str, Any] = dict(envelope["properties"])
    properties["type"] = {"const": type_}
    properties["data"] = data
    if command:
        properties["actor"] = properties["actor"]["anyOf"][0]
    required = [*envelope["required"], "data"] + (["actor"] if command else [])
    field = aggregate_field(type_)
    subject_rule = f" `subject` must equal `data.{field}`." if field else ""
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:lunas:schema:{type_}",
        "title": type_,
        "description": (
            f"{'Command' if command else 'Event'} `{type_}` in a CloudEvents 1.0 envelope."
            + subject_rule
            + (
                " Unknown fields are refused."
                if command
                else " Unknown fields are ignored (tolerant reader)."
            )
        ),
        "type": "object",
        "properties": properties,
        "required": required,
    }
    if command:
        # Only CloudEvents extension attributes may be added to a command's envelope.
        schema["patternProperties"] = {EXTENSION_NAME.pattern: {}}
        schema["additionalProperties"] = False
    if defs:
        schema["$defs"] = defs
    return schema


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _message(type_: str) -> dict[str, Any]:
    command = is_command(type_)
    return {
        "name": type_,
        "title": f"{'command' if command else 'event'} {type_}",
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": f"./{schema_file(type_)}"},
        "bindings": {"kafka": {"key": {"$ref": "#/components/schemas/key"}}},
    }


def _dlq_message() -> dict[str, Any]:
    return {
        "name": "dead_letter",
        "title": "a record a consumer could not process",
        "summary": (
            "The original record value and key, unchanged; headers name the error, the service "
            "and the original topic, partition and offset."
        ),
        "payload": {"description": "the original record value (any bytes)"},
    }


def asyncapi_document() -> dict[str, Any]:
    """Every topic of DESIGN.md and its DLQ, the key, and the messages on each."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL_TOPICS:
        channel = _channel_id(topic)
        channels[channel] = {
            "address": topic,
            "messages": {
                t.replace(".", "_"): {"$ref": f"#/components/messages/{t}"}
                for t in TOPIC_TYPES[topic]
            },
            "bindings": {"kafka": {"topic": topic}},
        }
        dlq = topics.dlq_topic(topic)
        channels[_channel_id(dlq)] = {
            "address": dlq,
            "description": f"Dead letters of the consumers of {topic}.",
            "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
            "bindings": {"kafka": {"topic": dlq}},
        }
        operations[f"publish_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
        }
        operations[f"consume_{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
        }
    messages: dict[str, Any] = {type_: _message(type_) for type_ in sorted(MODELS)}
    messages["dead_letter"] = _dlq_message()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "lunas",
            "version": API_VERSION,
            "description": (
                "Payments, pickup cancellations and notifications over Kafka. Every message is a "
                "CloudEvents 1.0 structured-mode JSON record keyed by `<tenantid>:<subject>`."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {
                "key": {
                    "type": "string",
                    "description": "Kafka record key: `<tenantid>:<subject>` (UTF-8).",
                    "pattern": r"^[A-Za-z0-9._/-]{1,64}:[A-Za-z0-9._/-]{1,64}$",
                }
            },
            "messages": messages,
        },
    }


def export(out_dir: Path) -> list[Path]:
    """Write every message's JSON Schema and `asyncapi.yaml` into `out_dir`; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for type_ in sorted(MODELS):
        path = out_dir / schema_file(type_)
        text = json.dumps(message_schema(type_), indent=2, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    path = out_dir / ASYNCAPI_FILE
    text = yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    written.append(path)
    return written
