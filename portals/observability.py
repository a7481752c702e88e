"""Operations (SPEC §13): JSON logs with request ids, Prometheus /metrics, OpenTelemetry traces.

Logs carry ids, routes, statuses and timings, never personal data: no emails, names, bodies or
query strings (they can hold emails or tokens).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from core import runtime
from core.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id()
        if rid:
            entry["requestId"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | str | None) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # werkzeug's access line repeats the query string; our own access log below does not.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # logs whole command lines at INFO


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "doktu_http_requests_total", "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "doktu_http_request_duration_seconds", "HTTP request latency by endpoint",
            ["endpoint", "method"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

        # The labelled children by their labels: prometheus_client validates and looks labels up
        # under a lock on every `labels()` call; the set is bounded (route patterns).
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method)
        timer = self._timers.get(key)
        if timer is None:
            timer = self._timers[key] = self.latency.labels(endpoint, method)
        counter = self._counters.get((endpoint, method, status))
        if counter is None:
            counter = self._counters[(endpoint, method, status)] = self.requests.labels(endpoint, method, str(status))
        counter.inc()
        timer.observe(seconds)


def _endpoint_label() -> str:
    """The route pattern (bounded cardinality), never the raw path with ids in it."""
    if request.url_rule is not None:
        return request.url_rule.rule
    if request.path.startswith(("/doctor/", "/admin/")):
        return "/" + request.path.split("/")[1] + "/*"
    return "unmatched"


def may_read_metrics(token: str | None) -> bool:
    """/metrics is for the operators' Prometheus only (issue 23). With METRICS_TOKEN: the bearer
    token, from anywhere. Without: a client on loopback or a private network that reached us
    directly — no X-Forwarded-For, so not a visitor relayed by a proxy (Fly's metrics scraper
    and a Prometheus on the compose network connect directly; the public always comes through
    the proxy or from a public address)."""
    if token:
        offered = request.headers.get("Authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def init_observability(app: Flask, settings: Settings) -> None:
    metrics = RequestMetrics()
    access_log = logging.getLogger("doktu.access")

    @app.before_request
    def _start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish_request(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = _endpoint_label()
        method, status = request.method, response.status_code
        metrics.observe(endpoint, method, status, elapsed)
        if rid := g.get("request_id"):
            response.headers[REQUEST_ID_HEADER] = rid
        # The access line's fields are built only when it will be written (LOG_LEVEL=WARNING
        # in production drops it).
        if access_log.isEnabledFor(logging.INFO) and request.path != "/metrics":
            access_log.info("request", extra={
                "method": method, "route": endpoint, "status": status, "ms": round(elapsed * 1000, 2),
            })
        return response

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        if not may_read_metrics(runtime.current().settings.metrics_token):
            # Not "forbidden": the endpoint is not advertised. Plain text, since the page template
            # would try the scraper's bearer token as a user's.
            return Response("Not found\n", status=404, mimetype="text/plain")
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    app.extensions["doktu_metrics"] = metrics
    if settings.otel_endpoint:
        init_tracing(app, settings)


def init_tracing(app: Flask, settings: Settings) -> None:
    """Trace Flask, SQLAlchemy and Redis; export over OTLP/HTTP only when an endpoint is set."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from core import db

    provider = TracerProvider(resource=Resource.create({"service.name": "doktu"}))
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    FlaskInstrumentor().instrument_app(app, excluded_urls="metrics,healthz")
    SQLAlchemyInstrumentor().instrument(engine=db.current().engine)
    RedisInstrumentor().instrument()
