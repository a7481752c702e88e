"""The composition root: everything the process holds for its lifetime, made once by `bootstrap()`.

One `Runtime` per process — the web app (`portals.create_app`), a worker (`doktu worker`), a CLI
command or a bench script all call `bootstrap(settings)`, and nothing else keeps state of its own:
the settings, the database, Redis, the Redis mirror of slot holds, the metrics cache, the
availability cache and who hears of calendar changes, the payment gateway, the mail and SMS
providers and the dispatcher of owed effects live here. Services reach
them through the unit of work (`uow.runtime`) or `current()`, never through parameters passed by
hand; a test swaps one field (`monkeypatch.setattr(runtime.current(), "settings", …)`).

This module imports nothing from `core` at load time but the settings, so every module may import
it; `bootstrap()` imports the adapters it builds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.config import Settings

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import redis

    from core.db import Database
    from core.notify.delivery import Mailer, SmsSender
    from core.payments.gateway import PaymentGateway
    from core.scheduling.availability_cache import AvailabilityCache
    from core.scheduling.holds import HoldMirror

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: redis.Redis
    holds: HoldMirror  # the Redis mirror of slot holds; the unit of work updates it after commits
    cache: Any  # the metrics snapshots' store (the same Redis); None computes every time
    gateway: PaymentGateway
    mailer: Mailer
    sms: SmsSender
    dispatcher: Callable[[str, tuple, dict], None]  # hands owed effects to a worker (core.tasks)
    availability: AvailabilityCache  # doctors' calendars in Redis (issue 21), dropped on every change
    # Told after a commit which doctors' calendars the transaction changed, besides the availability
    # cache (which always is): a test's probe, a future push to open pages.
    calendar_listeners: list[Callable[[list[uuid.UUID]], None]] = field(default_factory=list)

    @property
    def watches_calendars(self) -> bool:
        """Whether anyone needs to know which calendars a transaction changed (if not, the unit of
        work does not ask PostgreSQL)."""
        return self.availability.client is not None or bool(self.calendar_listeners)

    def calendars_changed(self, doctor_ids: list[uuid.UUID]) -> None:
        """After a commit that changed these doctors' calendars: drop their cached calendars (in
        every process — web, worker, CLI — as each bootstraps its own runtime), then tell the
        listeners. Best effort: PostgreSQL already decided, a cache must never fail a use case."""
        self.availability.invalidate(doctor_ids)
        self.tell_calendar_listeners(doctor_ids)

    def tell_calendar_listeners(self, doctor_ids: list[uuid.UUID]) -> None:
        """The listeners' part of `calendars_changed` (the hold path queues the cache's part with
        its hold mirror, in one Redis round trip)."""
        for listener in self.calendar_listeners:
            try:
                listener(doctor_ids)
            except Exception:
                log.exception("calendar change listener failed")

    @property
    def database_url(self) -> str:
        """The owner's URL (migrations); the app's own engine runs as doktu_app."""
        return self.db.owner_url


_current: Runtime | None = None


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no runtime: call core.runtime.bootstrap(settings) first")
    return _current


def installed() -> Runtime | None:
    """The runtime, or None before `bootstrap()` (owed effects then run inline)."""
    return _current


def install(runtime: Runtime | None) -> Runtime | None:
    """Make `runtime` the process's own; returns the previous one (tests put it back)."""
    global _current
    previous, _current = _current, runtime
    return previous


def bootstrap(settings: Settings, *, redis_client: redis.Redis | None = None) -> Runtime:
    """Build every adapter from the settings and install the result: the database (the embedded
    PostgreSQL when DATABASE_URL is unset), Redis (in-process when REDIS_URL is unset), the hold
    mirror and metrics cache on it, the gateway (Stripe or the local stand-in), the mail and SMS
    providers, the availability cache. Owed effects run inline until a dispatcher is set (`jobs.runtime.init_jobs`).
    A runtime built before is closed first (its pool disposed)."""
    from core import db, tasks
    from core.cache import connect_redis
    from core.notify.delivery import mailer_for, sms_sender_for
    from core.payments.gateway import gateway_for
    from core.scheduling.availability_cache import AvailabilityCache
    from core.scheduling.holds import HoldMirror

    database_url = settings.database_url
    if not database_url:
        from core.embedded import start_embedded_postgres

        database_url = start_embedded_postgres(settings.instance_path)
    client = redis_client if redis_client is not None else connect_redis(settings.redis_url)
    if _current is not None:
        _current.db.engine.dispose()
    runtime = Runtime(settings=settings, db=db.connect(database_url, app_url=settings.database_app_url),
                      redis=client, holds=HoldMirror(client), cache=client, gateway=gateway_for(settings),
                      mailer=mailer_for(settings), sms=sms_sender_for(settings), dispatcher=tasks.run_inline,
                      availability=AvailabilityCache(client))
    install(runtime)
    return runtime
