"""The replay fast path: a record the inbox already holds, with the same content, is found from
a plain parse of its JSON and dropped before ``steps.decode_record`` and a decision. Anything a
plain parse cannot vouch for is left to the full decode (docs/ARCHITECTURE.md). The consumer
runs it while at least half of its last batch was known (a replay, a redelivery): for new records
it would only add a parse and a hash to the decode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schemas import CONTENT_TYPE_HEADER, MessageInvalid
from schemas.envelope import MAX_BYTES, may_hold_bad_text, parse_json
from services.common.runtime.records import Record
from services.common.runtime.steps import Router
from services.common.runtime.store import InboxKey, Seen, hash_content


@dataclass(frozen=True, slots=True)
class Sighting:
    """What a record claims to be, read without decoding it: its inbox key and content hash."""

    record: Record
    key: InboxKey
    digest: str


def sighting(record: Record, router: Router) -> Sighting | None:
    """The record's key and content hash from a plain parse of its JSON, or None where only a
    full ``decode`` can tell (binary mode, suspicious text, an attribute of the wrong kind, a type
    not taken on its topic). The content hash is computed from the raw values: equal to the
    stored one only if the content is exactly what was validated and claimed before, so a
    match is a duplicate and anything else (a conflict, a new message, a non-canonical
    spelling of the same content) goes through ``decode``."""
    value = record.value
    if not value or len(value) > MAX_BYTES or may_hold_bad_text(value):
        return None
    for name, header in record.headers:
        name = name.lower()
        if name.startswith("ce_") or (name == "content-type" and header != CONTENT_TYPE_HEADER[1]):
            return None
    try:
        obj = parse_json(value)
    except MessageInvalid:
        return None
    if not isinstance(obj, dict):
        return None
    type_, tenant, source, id_ = (
        obj.get("type"),
        obj.get("tenantid"),
        obj.get("source"),
        obj.get("id"),
    )
    subject, actor, data = obj.get("subject"), obj.get("actor"), obj.get("data")
    if not (isinstance(type_, str) and isinstance(tenant, str) and isinstance(source, str)):
        return None
    if not (isinstance(id_, str) and isinstance(subject, str) and isinstance(data, dict)):
        return None
    if actor is not None and not isinstance(actor, str):
        return None
    allowed = router.topic_types.get(record.topic)
    if (allowed is not None and type_ not in allowed) or type_ not in router.handled:
        return None
    try:
        digest = hash_content(type_, tenant, subject, actor, data)
    except (TypeError, ValueError, UnicodeError):
        return None
    return Sighting(record, InboxKey(router.consumer, tenant, source, id_), digest)


def known_duplicates(sightings: Sequence[Sighting], seen: Mapping[InboxKey, Seen]) -> set[int]:
    """Indexes of the sightings whose id the inbox holds with the same content."""
    return {
        i
        for i, s in enumerate(sightings)
        if (held := seen.get(s.key)) is not None and held.content_hash == s.digest
    }
