"""Runs the read API until SIGTERM: ``lunas serve read-api`` (LUNAS_* env)."""

from __future__ import annotations

import signal
from types import FrameType

import structlog
import uvicorn

from services.common.runtime.service import utc_now
from services.common.settings import Settings
from services.notify_svc.bootstrap import token_keys
from services.notify_svc.entrypoint import refuse_without_token_keys
from services.readapi.app import create_app
from services.readapi.db import open_pool

log = structlog.get_logger(__name__)


def _ignore_repeat(signum: int, _frame: FrameType | None) -> None:
    log.info("read_api.signal_after_shutdown", signal=signal.Signals(signum).name)


def serve_read_api(settings: Settings) -> None:
    """Serve on ``read_api_host:read_api_port`` until SIGTERM/SIGINT, then exit 0."""
    refuse_without_token_keys(settings, "read API")
    # uvicorn re-raises the stop signal once shut down; with the default handlers a clean stop
    # would end as exit 143 (as in the feed API's entrypoint).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore_repeat)
    pool = open_pool(settings.database_dsn(), settings.database_pool_size)
    admins = {
        "payment": settings.payment_admin_ids,
        # Supervisors decide escalated cancellations, so they read orders too.
        "pickup": settings.pickup_admin_ids | settings.pickup_supervisor_ids,
    }
    app = create_app(pool, token_keys(settings), utc_now, admins)
    try:
        log.info("read_api.starting", host=settings.read_api_host, port=settings.read_api_port)
        uvicorn.run(
            app,
            host=settings.read_api_host,
            port=settings.read_api_port,
            log_config=None,
            access_log=False,
        )
    finally:
        pool.close()
        log.info("read_api.stopped")
