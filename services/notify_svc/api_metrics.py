"""Prometheus metrics of the feed API: requests, latency, open and refused streams, the live
subscription's drops and re-subscriptions."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.notify_svc.live import LiveFeeds


class _LiveCounters(Collector):
    """Counts kept by `LiveFeeds` itself, read at scrape time."""

    def __init__(self, live: LiveFeeds) -> None:
        self._live = live

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "lunas_feed_api_streams_dropped",
            "Streams dropped because their client fell too far behind",
            value=self._live.dropped,
        )
        yield CounterMetricFamily(
            "lunas_feed_api_live_resubscriptions",
            "Times the live subscription was re-established after losing Redis",
            value=self._live.resubscriptions,
        )


class Metrics:
    def __init__(self, live: LiveFeeds) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lunas_feed_api_requests_total",
            "Feed API requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lunas_feed_api_request_seconds",
            "Feed API time to response headers",
            ["method", "route"],
            registry=self.registry,
        )
        streams = Gauge(
            "lunas_feed_api_open_streams", "Open server-sent event streams", registry=self.registry
        )
        streams.set_function(lambda: live.open_streams)
        self.refused_streams = Counter(
            "lunas_feed_api_streams_refused_total",
            "Streams refused by a limit (per_reader: 429, process: 503)",
            ["limit"],
            registry=self.registry,
        )
        self.registry.register(_LiveCounters(live))


class MetricsMiddleware:
    """Plain ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self.metrics.requests.labels(method, route, str(message["status"])).inc()
                self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, observed)
