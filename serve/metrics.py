"""Prometheus metrics, one registry per app so that several apps in one process (tests, workers
in a benchmark) never share or clash over counters."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("brightline_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("brightline_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("brightline_batch_size_items", "items per model call (after micro-batching)",
                                    buckets=_SIZE_BUCKETS, registry=r)
        self.batch_seconds = Histogram("brightline_batch_duration_seconds", "model time per call",
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.items = Counter("brightline_items_scored", "items scored", registry=r)
        self.flags = Counter("brightline_items_flagged", "items scored, by flag raised", ["label"], registry=r)
        self.disconnects = Counter("brightline_client_disconnects", "requests whose client disconnected before "
                                   "sending its whole body", ["route"], registry=r)
        self.ready = Gauge("brightline_model_ready", "1 once the model is loaded and warmed", registry=r)

    def watch_system_cache(self, cache: Any) -> None:
        """Export the runtime's system-prompt cache counters, read at scrape time (a model without a
        cache, e.g. a batched graph, exports nothing)."""
        self.registry.register(_SystemCacheCollector(cache))

    def observe_batch(self, size: int, seconds: float, records: Sequence[dict[str, Any]]) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)
        self.items.inc(size)
        for record in records:
            for label in record["flags"]:
                self.flags.labels(label).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _SystemCacheCollector:
    """`brightline_system_cache_lookups_total{result}`: counters kept by the runtime itself, so they
    are read when scraped rather than mirrored on every call."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def collect(self) -> Any:
        family = CounterMetricFamily("brightline_system_cache_lookups", "system prompts looked up in the "
                                     "model's embedding cache since start, by result", labels=["result"])
        family.add_metric(["hit"], self.cache.hits)
        family.add_metric(["miss"], self.cache.misses)
        yield family


class MetricsMiddleware:
    """Counts and times every HTTP request. Pure ASGI (not BaseHTTPMiddleware) so it adds no task
    per request, and it labels by route template, never the raw path: a fuzzer probing random URLs
    must not create a time series per URL."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            method = method if name != "unmatched" and method in _METHODS else "other"
            self.metrics.requests.labels(method, name, str(status)).inc()
            self.metrics.latency.labels(method, name).observe(time.perf_counter() - started)
