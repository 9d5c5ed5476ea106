"""Who may send pickup_svc's commands (docs/ARCHITECTURE.md "Who may send it"); pure.

Each command's ``CommandSpec`` (``handlers.py``) names its ``Rule``: the seller's and the
courier's commands are anyone's (the topic ACLs say who writes which topic); deciding a
cancellation and retrying or recording a failed void are a pickup admin's (``LUNAS_PICKUP_ADMINS``
and the supervisors). The runtime checks the rule first: a refused sender learns nothing about
the order, not even that it exists, and never waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.domain import Meta, Rejected, is_admin


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may send one command type; ``verb`` (None: anyone) names it in the refusal."""

    verb: str | None = None

    def check(self, meta: Meta, admins: frozenset[str]) -> Rejected | None:
        if self.verb is None or is_admin(meta.actor, admins):
            return None
        return Rejected("forbidden", f"{meta.actor} may not {self.verb}; only a pickup admin may")


ANYONE = Rule()


def admin(verb: str) -> Rule:
    return Rule(verb)
