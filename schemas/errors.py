"""The one error `decode` raises: a refused message, with the fields that are wrong and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.fields import PATTERN_MESSAGES, show

Reason = Literal[
    "not_json",
    "not_object",
    "too_large",
    "unknown_type",
    "schema",
    "subject_mismatch",
    "invalid_text",
]


@dataclass(frozen=True)
class FieldError:
    """One wrong field: `loc` like `data.allocations[1].amount`, `message` says why."""

    loc: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message


class MessageInvalid(Exception):
    """A message that can never be processed: it belongs in the DLQ, not in a retry loop."""

    def __init__(self, reason: Reason, errors: Iterable[FieldError]) -> None:
        self.reason: Reason = reason
        self.errors: list[FieldError] = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.reason}: " + "; ".join(str(e) for e in self.errors)

    @classmethod
    def one(cls, reason: Reason, loc: str, message: str) -> MessageInvalid:
        return cls(reason, [FieldError(loc, message)])


class FieldProblem(ValueError):
    """Raised by a cross-field check to point at the field at fault (`giro`, `allocations[1]`)."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def format_loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    """`("allocations", 1, "amount")` under `data` -> `data.allocations[1].amount`."""
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else part
    return text


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field (commands accept only the fields of the contract)"
    if kind == "value_error":
        # Our own validators already name the offending input; drop pydantic's prefix.
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == "literal_error":
        return f"{error['msg'].lower()}, got {show(error['input'])}"
    if kind == "string_pattern_mismatch":
        what = PATTERN_MESSAGES.get(str(error.get("ctx", {}).get("pattern")))
        if what is not None:
            return f"{what}, got {show(error['input'])}"
    if kind == "string_type":
        return f"must be a string, got {show(error['input'])}"
    if kind == "model_type":
        return f"must be an object, got {show(error['input'])}"
    return f"{error['msg'].lower()}, got {show(error['input'])}"


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Turn pydantic's errors into `FieldError`s whose locations match the JSON message."""
    found = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, FieldProblem):
            loc += cause.loc
        found.append(FieldError(format_loc(prefix, loc), _message(error)))
    return found
