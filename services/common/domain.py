"""The values every service's pure domain shares: who sent a command (``Meta``) and a refusal
(``Rejected``) with the one list of codes of the wire contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.rejection import RejectionCode as RejectCode

__all__ = ["ADMIN_PREFIX", "Meta", "RejectCode", "Rejected", "is_admin"]

ADMIN_PREFIX = "admin:"


@dataclass(frozen=True, slots=True)
class Meta:
    """Envelope facts of a command: tenant, actor, its CloudEvents ``id`` and ``source``, and a
    time.

    ``at`` is the time the domain stamps on what it records: in every service the moment the
    command is applied, the batch's clock (docs/ARCHITECTURE.md "Meta.at").
    """

    tenant_id: str
    actor: str
    command_id: str
    at: datetime
    source: str = ""

    @property
    def cause_key(self) -> str:
        """What identifies the command for deriving ids: ids are unique per tenant and source."""
        return f"{self.tenant_id}/{self.source}/{self.command_id}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A business refusal: the command is consumed and ``command.rejected`` tells the sender why."""

    code: RejectCode
    message: str


def is_admin(actor: str, admins: frozenset[str]) -> bool:
    """``admin:<id>`` with ``<id>`` in the configured admin set."""
    if not actor.startswith(ADMIN_PREFIX):
        return False
    admin_id = actor[len(ADMIN_PREFIX) :]
    return bool(admin_id) and admin_id in admins
