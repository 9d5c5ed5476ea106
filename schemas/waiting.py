"""`command.waiting`: a command was understood but names what does not exist yet, so it waits.

Not a final outcome: the command's own event or its `command.rejected` follows. A service emits
it once when the command parks (`stage` "parked") and once more if the command is still waiting
half-way to its deadline (`stage` "halfway"): that second one is what tells people.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.fields import Event, EventId, EventPart, Id, Timestamp


class Awaited(EventPart):
    """An aggregate the command names that does not exist yet (`invoice`, `payment`, `order`),
    or, for a command queued behind a waiting one of its subject, what that one awaits."""

    kind: str = Field(pattern=r"^[a-z][a-z_]{0,31}$")
    id: Id


class CommandWaiting(Event):
    """Its envelope `subject` is the waiting command's subject; `causationid` its id."""

    command_id: EventId
    command_type: str = Field(pattern=r"^[a-z][a-z0-9._]{0,63}$")
    awaiting: list[Awaited] = Field(min_length=1, max_length=100)
    # The deadline: at `until` the command is refused `not_found` if it still waits.
    until: Timestamp
    stage: Literal["parked", "halfway"] = "parked"


EVENTS: dict[str, type[Event]] = {"command.waiting": CommandWaiting}
