"""The services lunas runs, each by its own ``ServiceSpec`` (docs/ARCHITECTURE.md "One
service"): what ``lunas status``, ``lunas serve``, ``lunas run``, bench and chaos read for groups,
topics and schemas."""

from __future__ import annotations

import importlib

from services.common.runtime.service import ServiceSpec
from services.common.settings import Settings
from services.notify_svc.service import SERVICE as NOTIFY
from services.payment_svc.service import SERVICE as PAYMENT
from services.pickup_svc.service import SERVICE as PICKUP

SERVICES: tuple[ServiceSpec, ...] = (PAYMENT, PICKUP, NOTIFY)
# Every process ``lunas serve`` runs: the services, and the HTTP APIs beside them.
PROCESSES: dict[str, str] = {
    **{s.name: s.entrypoint for s in SERVICES},
    "feed-api": "services.notify_svc.entrypoint:serve_feed_api",
    "read-api": "services.readapi.entrypoint:serve_read_api",
}


def serve(name: str, settings: Settings) -> None:
    """Run process ``name`` (a key of ``PROCESSES``) here, until SIGTERM."""
    module, function = PROCESSES[name].split(":")
    getattr(importlib.import_module(module), function)(settings)
