"""OpenTelemetry: spans are exported over OTLP/HTTP when, and only when, an endpoint is set."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from flask import Flask

from core.config import Settings
from portals.observability import init_observability


class Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, int]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Collector.received.append((self.path, len(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_no_tracing_without_an_endpoint(settings):
    app = Flask("plain")
    init_observability(app, settings)
    assert settings.otel_endpoint is None
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


def test_requests_are_traced_and_exported_when_an_endpoint_is_set(app, settings):
    from opentelemetry import trace

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    traced = Flask("traced")
    traced.add_url_rule("/ping", "ping", lambda: "pong")
    endpoint = f"http://127.0.0.1:{server.server_port}"
    init_observability(traced, Settings(**{**settings.__dict__, "otel_endpoint": endpoint}))
    try:
        assert traced._is_instrumented_by_opentelemetry
        assert traced.test_client().get("/ping").status_code == 200
        provider = trace.get_tracer_provider()
        assert provider.force_flush(5000)
        assert any(path == "/v1/traces" and size > 0 for path, size in Collector.received)
    finally:
        trace.get_tracer_provider().shutdown()
        server.shutdown()
