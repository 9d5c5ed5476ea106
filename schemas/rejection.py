"""`command.rejected`: the business answer to a command that was understood but refused."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.fields import Event, EventId, LongText

RejectionCode = Literal[
    "not_found",
    "invalid_state",
    "conflict",
    "tenant_mismatch",
    "over_allocation",
    "invalid",
    "forbidden",
]


class CommandRejected(Event):
    """Its envelope `subject` is the rejected command's subject (no aggregate id in `data`)."""

    command_id: EventId
    command_type: str = Field(pattern=r"^[a-z][a-z0-9._]{0,63}$")
    code: RejectionCode
    message: LongText


EVENTS: dict[str, type[Event]] = {"command.rejected": CommandRejected}
