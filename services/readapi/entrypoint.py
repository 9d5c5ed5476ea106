"""Runs the read API until SIGTERM: ``lunas serve read-api`` (LUNAS_* env)."""

from __future__ import annotations

import structlog
import uvicorn

from services.common.runtime.service import utc_now
from services.common.settings import Settings
from services.notify_svc.bootstrap import token_keys
from services.notify_svc.entrypoint import refuse_without_token_keys
from services.readapi.app import create_app
from services.readapi.db import open_pool

log = structlog.get_logger(__name__)


def serve_read_api(settings: Settings) -> None:
    """Serve on ``read_api_host:read_api_port``; uvicorn stops cleanly on SIGTERM/SIGINT."""
    refuse_without_token_keys(settings, "read API")
    pool = open_pool(settings.database_dsn(), settings.database_pool_size)
    admins = {"payment": settings.payment_admin_ids, "pickup": settings.pickup_admin_ids}
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
