"""Runs payment_svc until SIGTERM: `python -m services.payment_svc.entrypoint` (LUNAS_* env)."""

from __future__ import annotations

import structlog

from services.common.logging import configure_logging
from services.common.runtime import run_service
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec


def serve_payment(settings: Settings) -> None:
    if not settings.payment_admin_ids:
        # Not fatal: payments can still be recorded; confirm, resolve, cancel and an admin's
        # void or release are refused `forbidden`.
        structlog.get_logger(__name__).warning(
            "payment.no_admins",
            hint="set LUNAS_PAYMENT_ADMINS to the ids allowed to confirm, resolve and cancel",
        )
    run_service(build_spec(settings), settings)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    serve_payment(settings)


if __name__ == "__main__":
    main()
