"""Runs pickup_svc until SIGTERM: `python -m services.pickup_svc.entrypoint` (LUNAS_* settings)."""

from __future__ import annotations

import structlog

from services.common.logging import configure_logging
from services.common.runtime import run_service
from services.common.settings import Settings
from services.pickup_svc.bootstrap import build_spec


def serve_pickup(settings: Settings) -> None:
    if not settings.pickup_admin_ids:
        # Not fatal: cancellations can still be requested; every decision is refused `forbidden`.
        structlog.get_logger(__name__).warning(
            "pickup.no_admins", hint="set LUNAS_PICKUP_ADMINS to the ids allowed to decide"
        )
    run_service(build_spec(settings), settings)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    serve_pickup(settings)


if __name__ == "__main__":
    main()
