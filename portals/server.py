"""`doktu serve`: gunicorn in-process, the app built in each worker (no fork after start-up)."""

from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication

from core.config import Settings


class DoktuServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from portals import create_app

        app = create_app(self.settings)
        if self.settings.embedded_redis:
            from jobs.runtime import start_in_process_jobs

            start_in_process_jobs(app.extensions["doktu"].redis, context=app.app_context)
        return app


def serve(settings: Settings, *, host: str, port: int, workers: int | None = None) -> None:
    embedded = settings.embedded_database or settings.embedded_redis
    # The in-process Redis and job threads live in one process: one worker, many threads.
    count = 1 if embedded else (workers or 2 * (os.cpu_count() or 1) + 1)
    DoktuServer(settings, {
        "bind": f"{host}:{port}", "workers": count, "threads": 8 if embedded else 4,
        "worker_class": "gthread", "accesslog": None, "timeout": 60, "graceful_timeout": 20,
        "forwarded_allow_ips": "127.0.0.1",
    }).run()
