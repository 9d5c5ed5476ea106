"""The AsyncAPI 3.0 document of the contract, built from the registry and the committed examples.

Every schema is named under `components/schemas`: one `Envelope` (the CloudEvents attributes),
and per message type `<Type>Data` (the payload of `data`, its parts named too) and
`<Type>Message` (the envelope with that `data`), so a generated client gets one class per thing.
A command's operation says where its outcome arrives (`reply`), how it is linked (`causationid`
= the command's `id`) and the codes of a refusal. New types in the registry flow in by themselves;
each needs an example under `schemas/examples`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from schemas import topics
from schemas.envelope import CONTENT_TYPE, EXTENSION_NAME, EnvelopeAttributes
from schemas.examples import example_paths
from schemas.registry import MODELS, REJECTIONS_TOPIC, TOPIC_TYPES, aggregate_field, is_command
from schemas.rejection import RejectionCode

API_VERSION = "1.0.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The payloads are JSON Schema 2020-12 (`unevaluatedProperties` over the shared envelope).
SCHEMA_FORMAT = "application/schema+json;version=2020-12"
SCHEMAS = "#/components/schemas/"
REJECTED = "command.rejected"


def _camel(type_: str) -> str:
    return "".join(part.capitalize() for part in type_.split("."))


def data_schema_name(type_: str) -> str:
    return f"{_camel(type_)}Data"


def message_schema_name(type_: str) -> str:
    return f"{_camel(type_)}Message"


def _id(name: str) -> str:
    """A channel, message or operation id: dots are not allowed in AsyncAPI component keys."""
    return name.replace(".", "_")


def _envelope_schema() -> dict[str, Any]:
    schema = EnvelopeAttributes.model_json_schema(mode="validation")
    return {
        "title": "Envelope",
        "description": (
            "CloudEvents 1.0 attributes of every message (structured JSON mode). `causationid` is "
            "the `id` of the message that caused this one; `correlationid` is copied along a chain."
        ),
        "type": "object",
        "properties": schema["properties"],
        "required": schema["required"],
    }


def _shared_schemas() -> dict[str, Any]:
    """Envelope, key, and every type's `<Type>Data` with the parts it names (hoisted `$defs`)."""
    shared: dict[str, Any] = {
        "Envelope": _envelope_schema(),
        "MessageKey": {
            "type": "string",
            "description": "Kafka record key: `<tenantid>:<subject>` (UTF-8).",
            "pattern": r"^[A-Za-z0-9._/-]{1,64}:[A-Za-z0-9._/-]{1,64}$",
        },
    }
    for type_ in sorted(MODELS):
        data = MODELS[type_].model_json_schema(mode="validation", ref_template=SCHEMAS + "{model}")
        for name, part in data.pop("$defs", {}).items():
            if shared.setdefault(name, part) != part:
                raise ValueError(f"two different schemas are both named {name!r}")
        shared[data_schema_name(type_)] = data
    return shared


def message_description(type_: str, envelope: str = "") -> str:
    """What the schema of a message type says of it: command or event, the subject rule, and
    whether unknown fields are refused (commands) or ignored (events, tolerant reader)."""
    command = is_command(type_)
    field = aggregate_field(type_)
    return (
        f"{'Command' if command else 'Event'} `{type_}`{envelope}."
        + (f" `subject` must equal `data.{field}`." if field else "")
        + (
            " Unknown fields are refused."
            if command
            else " Unknown fields are ignored (tolerant reader)."
        )
    )


def command_actor_schema() -> dict[str, Any]:
    """`actor` as a command requires it: the envelope's optional actor without its null."""
    actor: dict[str, Any] = EnvelopeAttributes.model_json_schema()["properties"]["actor"]
    return dict(actor["anyOf"][0])


def close_command_envelope(schema: dict[str, Any], keyword: str) -> None:
    """Only CloudEvents extension attributes may be added to a command's envelope; `keyword` is
    ``additionalProperties`` for a schema standing alone, ``unevaluatedProperties`` over allOf."""
    schema["patternProperties"] = {EXTENSION_NAME.pattern: {}}
    schema[keyword] = False


def _message_schema(type_: str) -> dict[str, Any]:
    command = is_command(type_)
    properties: dict[str, Any] = {
        "type": {"const": type_},
        "data": {"$ref": SCHEMAS + data_schema_name(type_)},
    }
    required = ["data"]
    if command:
        properties["actor"] = command_actor_schema()
        required.append("actor")
    schema: dict[str, Any] = {
        "title": type_,
        "description": message_description(type_),
        "allOf": [{"$ref": SCHEMAS + "Envelope"}],
        "type": "object",
        "properties": properties,
        "required": required,
    }
    if command:
        close_command_envelope(schema, "unevaluatedProperties")
    return schema


def _examples() -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    """The first committed example of each type, and which event types each command caused."""
    first: dict[str, list[dict[str, Any]]] = {}
    caused: dict[str, list[str]] = {}
    by_id: dict[str, str] = {}
    for path in example_paths():
        message: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        type_ = message["type"]
        by_id[message["id"]] = type_
        if type_ not in first:
            name = f"{path.parent.name}/{path.stem}"
            first[type_] = [{"name": _id(name.replace("/", "_")), "payload": message}]
        cause = by_id.get(message.get("causationid", ""))
        outcomes = caused.setdefault(cause, []) if cause and is_command(cause) else None
        if outcomes is not None and not is_command(type_) and type_ not in outcomes:
            outcomes.append(type_)
    return first, caused


def _message(type_: str, examples: list[dict[str, Any]]) -> dict[str, Any]:
    command = is_command(type_)
    link = (
        "the `causationid` of its outcome" if command else "the `id` of the message that caused it"
    )
    return {
        "name": type_,
        "title": f"{'command' if command else 'event'} {type_}",
        "contentType": CONTENT_TYPE,
        "payload": {
            "schemaFormat": SCHEMA_FORMAT,
            "schema": {"$ref": SCHEMAS + message_schema_name(type_)},
        },
        "correlationId": {
            "description": f"{'`id`' if command else '`causationid`'}: {link}.",
            "location": f"$message.payload#/{'id' if command else 'causationid'}",
        },
        "bindings": {"kafka": {"key": {"$ref": SCHEMAS + "MessageKey"}, "bindingVersion": "0.5.0"}},
        "examples": examples,
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
        "examples": [{"name": "poison", "payload": "not json"}],
    }


def _topic_of(type_: str) -> str:
    return next(topic for topic, types in TOPIC_TYPES.items() if type_ in types)


def _reply(command: str, topic: str, caused: Iterable[str]) -> tuple[dict[str, Any], str]:
    """The reply of a command's operation and a sentence on where its outcome arrives."""
    rejection_topic = REJECTIONS_TOPIC[topic]
    events = list(caused)
    reply_topic = _topic_of(events[0]) if events else rejection_topic
    replies = [e for e in events if _topic_of(e) == reply_topic]
    if reply_topic == rejection_topic:
        replies.append(REJECTED)
    codes = ", ".join(f"`{c}`" for c in get_args(RejectionCode))
    where = ", ".join(f"`{e}` on `{_topic_of(e)}`" for e in events) or "its events"
    text = (
        f"Outcome: {where}; or `{REJECTED}` on `{rejection_topic}` with `command_type` "
        f"`{command}` and `code` one of {codes}. Each outcome's `causationid` is this command's "
        "`id` (its idempotency key); `correlationid` is copied from it."
    )
    channel = _id(reply_topic)
    reply = {
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{_id(t)}"} for t in replies],
    }
    return reply, text


def _channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in topics.ALL_TOPICS:
        channels[_id(topic)] = {
            "address": topic,
            "messages": {
                _id(t): {"$ref": f"#/components/messages/{t}"} for t in TOPIC_TYPES[topic]
            },
            "bindings": {"kafka": {"topic": topic, "bindingVersion": "0.5.0"}},
        }
        dlq = topics.dlq_topic(topic)
        channels[_id(dlq)] = {
            "address": dlq,
            "description": f"Dead letters of the consumers of {topic}.",
            "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
            "bindings": {"kafka": {"topic": dlq, "bindingVersion": "0.5.0"}},
        }
    return channels


def _operations(caused: Mapping[str, list[str]]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in topics.ALL_TOPICS:
        channel = _id(topic)
        for type_ in TOPIC_TYPES[topic]:
            if not is_command(type_):
                continue
            reply, text = _reply(type_, topic, caused.get(type_, ()))
            operations[f"send_{_id(type_)}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"Send command {type_}.",
                "description": text,
                "messages": [{"$ref": f"#/channels/{channel}/messages/{_id(type_)}"}],
                "reply": reply,
            }
        if not any(is_command(t) for t in TOPIC_TYPES[topic]):
            operations[f"publish_{channel}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
            }
        operations[f"consume_{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
        }
    return operations


SERVERS: dict[str, Any] = {
    "dev": {
        "host": "127.0.0.1:{port}",
        "protocol": "kafka",
        "description": "`lunas run`: the embedded broker; its address is in the ready line.",
        "variables": {"port": {"default": "9092", "description": "the broker's port"}},
    },
    "prod": {
        "host": "{bootstrap}",
        "protocol": "kafka-secure",
        "description": "A Kafka cluster over SASL_SSL (deploy/k8s): LUNAS_KAFKA_* settings.",
        "variables": {"bootstrap": {"default": "kafka-bootstrap.kafka:9093"}},
        "security": [{"$ref": "#/components/securitySchemes/scram"}],
    },
}


def asyncapi_document() -> dict[str, Any]:
    """Every topic and its DLQ, a send operation per command with its reply, named schemas."""
    examples, caused = _examples()
    missing = sorted(set(MODELS) - set(examples))
    if missing:
        raise ValueError(f"no example under schemas/examples for {missing}")
    messages: dict[str, Any] = {t: _message(t, examples[t]) for t in sorted(MODELS)}
    messages["dead_letter"] = _dlq_message()
    schemas = _shared_schemas()
    schemas.update({message_schema_name(t): _message_schema(t) for t in sorted(MODELS)})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "lunas",
            "version": API_VERSION,
            "description": (
                "Payments, pickup cancellations and notifications over Kafka. Every message is a "
                "CloudEvents 1.0 structured-mode JSON record keyed by `<tenantid>:<subject>`. "
                f"Schemas are JSON Schema 2020-12 ({JSON_SCHEMA_DIALECT})."
            ),
        },
        "x-json-schema-dialect": JSON_SCHEMA_DIALECT,
        "defaultContentType": CONTENT_TYPE,
        "servers": SERVERS,
        "channels": _channels(),
        "operations": _operations(caused),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "LUNAS_KAFKA_SASL_USERNAME / LUNAS_KAFKA_SASL_PASSWORD",
                }
            },
        },
    }
