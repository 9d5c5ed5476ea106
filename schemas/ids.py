"""Deterministic ids for derived messages, so a retried handler emits the same ids and dedupes."""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed forever: changing it would change every derived id and break deduplication on replay.
LUNAS_NAMESPACE = UUID("6f0d7a52-3c1e-5b8e-9a57-4c8f1e2d9b30")


def derive_id(cause_id: str, purpose: str) -> str:
    """The id of the message that `cause_id` gives rise to for `purpose` (e.g. `invoice.void`).

    The same cause and purpose always give the same id; different purposes never collide.
    """
    return str(uuid5(LUNAS_NAMESPACE, f"{cause_id}/{purpose}"))
