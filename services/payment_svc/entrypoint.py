"""Runs payment_svc until SIGTERM: `python -m services.payment_svc.entrypoint` (LUNAS_* env)."""

from __future__ import annotations

from services.common.logging import configure_logging
from services.common.runtime import run_service
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    run_service(build_spec(settings), settings)


if __name__ == "__main__":
    main()
