"""A record decoded into a command this service takes: what the steps (``steps.py``) hand on and
a waiting row (``waiting.py``) keeps, in a module of its own so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Envelope
from services.common.runtime.records import Record
from services.common.runtime.store import InboxKey


@dataclass(frozen=True, slots=True)
class Command:
    """A decoded message that a handler of this service takes."""

    record: Record
    envelope: Envelope
    key: InboxKey
    digest: str
