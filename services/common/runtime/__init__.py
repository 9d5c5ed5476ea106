"""The reliable consumer runtime: a batch's effects, its inbox rows and its outbox rows commit in
one Postgres transaction; offsets move only after that; the outbox goes out at once (fast path),
with a relay as the safety net."""

from services.common.domain import Meta, Rejected
from services.common.runtime.seam import (
    Accepted,
    Handler,
    MessageContext,
    Outcome,
    Outgoing,
    UnitOfWork,
)
from services.common.runtime.service import ServiceSpec, ServiceWiring, run_service

__all__ = [
    "Accepted",
    "Handler",
    "MessageContext",
    "Meta",
    "Outcome",
    "Outgoing",
    "Rejected",
    "ServiceSpec",
    "ServiceWiring",
    "UnitOfWork",
    "run_service",
]
