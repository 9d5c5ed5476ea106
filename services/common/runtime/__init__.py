"""The reliable consumer runtime: each message's effect, its inbox row and its outbox rows commit in
one Postgres transaction; offsets move only after that; a relay publishes the outbox."""

from services.common.runtime.handling import (
    Accepted,
    Handler,
    HandlerContext,
    Outcome,
    Outgoing,
    Rejected,
)
from services.common.runtime.service import ServiceSpec, run_service

__all__ = [
    "Accepted",
    "Handler",
    "HandlerContext",
    "Outcome",
    "Outgoing",
    "Rejected",
    "ServiceSpec",
    "run_service",
]
