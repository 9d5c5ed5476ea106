"""`lunas schemas export`: one JSON Schema per message type and the AsyncAPI 3.0 document
(`schemas.asyncapi`).

The JSON Schemas describe what `decode` accepts; a few rules need two fields at once (the
envelope `subject` equals the aggregate id in `data`, allocations add up) and only `decode`
enforces those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from schemas.asyncapi import (
    JSON_SCHEMA_DIALECT,
    asyncapi_document,
    close_command_envelope,
    command_actor_schema,
    message_description,
)
from schemas.envelope import EnvelopeAttributes
from schemas.registry import MODELS, is_command

ASYNCAPI_FILE = "asyncapi.yaml"


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
        properties["actor"] = command_actor_schema()
    required = [*envelope["required"], "data"] + (["actor"] if command else [])
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:lunas:schema:{type_}",
        "title": type_,
        "description": message_description(type_, " in a CloudEvents 1.0 envelope"),
        "type": "object",
        "properties": properties,
        "required": required,
    }
    if command:
        close_command_envelope(schema, "additionalProperties")
    if defs:
        schema["$defs"] = defs
    return schema


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
