"""The committed AsyncAPI document is valid AsyncAPI 3.0 as far as can be checked offline:
its structure, every `$ref`, and an example on every message that validates against its payload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from schemas import COMMAND_TYPES, EVENT_TYPES
from schemas.asyncapi import SCHEMA_FORMAT, asyncapi_document, data_schema_name
from schemas.registry import REJECTIONS_TOPIC, TOPIC_TYPES
from schemas.rejection import RejectionCode

GENERATED = Path(__file__).parents[3] / "schemas" / "generated"
DOC: dict[str, Any] = yaml.safe_load((GENERATED / "asyncapi.yaml").read_text(encoding="utf-8"))
MESSAGES: dict[str, Any] = DOC["components"]["messages"]
TYPED = sorted(COMMAND_TYPES | EVENT_TYPES)


def _refs(node: Any, path: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{path}/{index}")


def _resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), f"external or relative reference {pointer!r}"
    node: Any = DOC
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{pointer} does not resolve at {part!r}"
        node = node[part]
    return node


def _validator(type_: str) -> jsonschema.Draft202012Validator:
    """The message's payload schema, resolved within the whole document."""
    payload = MESSAGES[type_]["payload"]
    assert payload["schemaFormat"] == SCHEMA_FORMAT
    root = {
        "$schema": DOC["x-json-schema-dialect"],
        "$ref": payload["schema"]["$ref"],
        "components": DOC["components"],  # where the `#/components/...` pointers land
    }
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_the_committed_document_is_what_the_registry_and_examples_make() -> None:
    assert yaml.safe_load(yaml.safe_dump(asyncapi_document())) == DOC


def test_structure_of_an_asyncapi_3_document() -> None:
    assert DOC["asyncapi"] == "3.0.0"
    assert {"title", "version"} <= set(DOC["info"])
    assert DOC["x-json-schema-dialect"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(DOC["servers"]) == {"dev", "prod"}
    for server in DOC["servers"].values():
        assert server["protocol"] in {"kafka", "kafka-secure"} and server["host"]
        for variable in server.get("variables", {}):
            assert "{" + variable + "}" in server["host"]
    for channel in DOC["channels"].values():
        assert channel["address"] and channel["messages"]
    for name, operation in DOC["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        channel_ref = operation["channel"]["$ref"]
        for message in operation.get("messages", []):
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
        if "reply" in operation:
            reply_ref = operation["reply"]["channel"]["$ref"]
            for message in operation["reply"]["messages"]:
                assert message["$ref"].startswith(reply_ref + "/messages/"), name


def test_every_ref_resolves_inside_the_document() -> None:
    refs = list(_refs(DOC))
    assert len(refs) > 100
    for where, pointer in refs:
        assert _resolve(pointer) is not None, where


def test_schemas_are_named_and_shared_not_repeated_inline() -> None:
    schemas = DOC["components"]["schemas"]
    for type_ in TYPED:
        message_schema = _resolve(MESSAGES[type_]["payload"]["schema"]["$ref"])
        assert message_schema["allOf"] == [{"$ref": "#/components/schemas/Envelope"}]
        data_ref = message_schema["properties"]["data"]["$ref"]
        assert data_ref == f"#/components/schemas/{data_schema_name(type_)}"
    titles = [s.get("title") for s in schemas.values()]
    assert "Data" not in titles
    assert len({data_schema_name(t) for t in TYPED}) == len(TYPED)
    # Parts used by several messages (an allocation line) are one named schema.
    assert "AllocationLine" in schemas


@pytest.mark.parametrize("type_", TYPED)
def test_every_message_has_an_example_that_validates_against_its_payload(type_: str) -> None:
    examples = MESSAGES[type_]["examples"]
    assert examples
    validator = _validator(type_)
    for example in examples:
        validator.validate(example["payload"])
        assert example["payload"]["type"] == type_
    # The schema is not vacuous: the same example under another type, or with a float amount
    # or an unknown attribute on a command, is refused.
    wrong = {**examples[0]["payload"], "type": "other.type"}
    assert not validator.is_valid(wrong)
    if type_ in COMMAND_TYPES:
        assert not validator.is_valid({**examples[0]["payload"], "Priority_Flag": "urgent!"})


def test_every_command_says_where_its_outcome_arrives_how_it_links_and_why_it_is_refused() -> None:
    codes = RejectionCode.__args__
    operations = DOC["operations"]
    for type_ in COMMAND_TYPES:
        (topic,) = [t for t, types in TOPIC_TYPES.items() if type_ in types]
        operation = operations[f"send_{type_.replace('.', '_')}"]
        text = operation["description"]
        assert "causationid" in text and all(f"`{c}`" in text for c in codes), type_
        assert f"`command.rejected` on `{REJECTIONS_TOPIC[topic]}`" in text
        replies = [_resolve(m["$ref"])["$ref"] for m in operation["reply"]["messages"]]
        assert replies, type_
        reply_types = {r.rsplit("/", 1)[1] for r in replies}
        assert reply_types - {"command.rejected"}, f"{type_}: no event named as its outcome"
        assert MESSAGES[type_]["correlationId"]["location"] == "$message.payload#/id"
    for type_ in EVENT_TYPES:
        assert MESSAGES[type_]["correlationId"]["location"] == "$message.payload#/causationid"
