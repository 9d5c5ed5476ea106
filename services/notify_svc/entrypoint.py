"""Process entry points: `lunas serve notify` (the faust app) and `lunas serve feed-api` (uvicorn).

Both block until SIGTERM or SIGINT, then finish what is in hand and return normally (exit 0).
Both refuse to start (exit 1, the reason on stderr) without a feed token secret of at least 32
bytes. `python -m services.notify_svc.entrypoint notify|feed-api` runs them without the CLI.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

import structlog
import uvicorn

from services.common import otel
from services.common.health import HealthServer
from services.common.kafka_refusal import exit_on_refusal
from services.common.logging import configure_logging
from services.common.settings import Settings
from services.common.topics import ensure_topics_for
from services.notify_svc.bootstrap import build_feed_api, build_notify, token_keys
from services.notify_svc.processing import SERVICE
from services.notify_svc.tokens import TokenConfigError

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
DRAIN_TIMEOUT_S = 20.0
FEED_API_GRACE_S = 5  # open SSE streams never end by themselves: cut them after this


def refuse_without_token_keys(settings: Settings, what: str) -> None:
    """Exit with the reason (no traceback) when the feed token keys are missing or weak."""
    try:
        token_keys(settings)
    except TokenConfigError as exc:
        raise SystemExit(f"{what} not started: {exc}") from None


def serve_notify(settings: Settings) -> None:
    """Run notify_svc until SIGTERM/SIGINT; topics are created first if missing."""
    refuse_without_token_keys(settings, "notify")
    ensure_topics_for(settings)
    with exit_on_refusal("notify"):
        asyncio.run(_run_notify(settings))


async def _run_notify(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    service = build_notify(settings)
    faust_app = service.app.faust
    health = None
    if settings.metrics_port is not None:
        health = HealthServer(
            settings.metrics_host,
            settings.metrics_port,
            live=lambda: not faust_app.crashed,
            ready=lambda: faust_app.started and not faust_app.crashed,
        ).start()
    otel.start(SERVICE, settings.otel_exporter_otlp_endpoint)
    try:
        await service.app.start()
        log.info("notify.started", topics=list(service.app.topics), group=faust_app.conf.id)
        while not stop.is_set():
            if faust_app.crashed:
                raise RuntimeError(f"notify app crashed: {faust_app.crash_reason!r}")
            refusal = service.app.refusal()
            if refusal is not None:
                raise refusal
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                continue
        log.info("notify.stopping")
    finally:
        await service.app.stop(DRAIN_TIMEOUT_S)
        await service.aclose()
        otel.stop(SERVICE)
        if health is not None:
            health.stop()
        log.info("notify.stopped")


def _ignore_repeat(signum: int, _frame: FrameType | None) -> None:
    log.info("feed_api.signal_after_shutdown", signal=signal.Signals(signum).name)


def serve_feed_api(settings: Settings) -> None:
    """Serve the feed API on `feed_api_host:feed_api_port` until SIGTERM/SIGINT."""
    # uvicorn restores the handlers it found and re-raises the signal it caught once it has shut
    # down gracefully; with the default handlers that would turn a clean stop into exit 143.
    refuse_without_token_keys(settings, "feed API")
    for sig in STOP_SIGNALS:
        signal.signal(sig, _ignore_repeat)
    asyncio.run(_run_feed_api(settings))


def feed_api_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """uvicorn for the feed API. Beyond `feed_api_limit_concurrency` connections or requests in
    flight uvicorn answers 503 at once instead of queueing; open streams are capped below it
    (`feed_streams_max`), so requests and probes keep room. The lifespan runs the live
    subscription."""
    return uvicorn.Config(
        app,
        host=settings.feed_api_host,
        port=settings.feed_api_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        limit_concurrency=settings.feed_api_limit_concurrency,
        timeout_graceful_shutdown=FEED_API_GRACE_S,
    )


async def _run_feed_api(settings: Settings) -> None:
    feed = build_feed_api(settings)
    config = feed_api_config(feed.app, settings)
    try:
        log.info("feed_api.starting", host=settings.feed_api_host, port=settings.feed_api_port)
        await uvicorn.Server(config).serve()
    finally:
        await feed.aclose()
        log.info("feed_api.stopped")


def main(argv: list[str]) -> int:
    targets = {"notify": serve_notify, "feed-api": serve_feed_api}
    if len(argv) != 1 or argv[0] not in targets:
        sys.stderr.write("usage: python -m services.notify_svc.entrypoint notify|feed-api\n")
        return 2
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    targets[argv[0]](settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
