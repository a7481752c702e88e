"""Heartbeats of the periodic jobs (issue 23, SPEC §9 alert feed): when each last started and
finished, in PostgreSQL (`job_heartbeats`), so the admin console can say "Background jobs last
ran 40 s ago" and alert when they stop — a crashed cron is otherwise silent (no hold released, no
reminder sent, nothing in RQ's failed registry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from core import clock
from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.errors import Forbidden
from core.i18n import N_
from core.models import JobHeartbeat


@dataclass(frozen=True)
class JobRun:
    name: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None


def _upsert(name: str, values: dict) -> None:
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(insert(JobHeartbeat).values(name=name, **values)
                            .on_conflict_do_update(index_elements=[JobHeartbeat.name], set_=values))


def job_started(name: str, now: datetime | None = None) -> None:
    """A periodic job begins (its own transaction, committed whatever the job then does)."""
    _upsert(name, {"last_started_at": now or clock.now()})


def job_finished(name: str, error: str | None = None, now: datetime | None = None) -> None:
    """A periodic job ended: `error` is the exception's class name when it failed (no message: it
    may quote personal data), None when it succeeded."""
    _upsert(name, {"last_finished_at": now or clock.now(), "last_error": error})


def job_runs(actor: Actor) -> list[JobRun]:
    """Every periodic job's last run, for staff (RLS: admins read, the system writes)."""
    if actor.role not in ("admin", "system"):
        raise Forbidden(N_("Only staff see the background jobs."))
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(select(JobHeartbeat).order_by(JobHeartbeat.name)).scalars().all()
        return [JobRun(r.name, r.last_started_at, r.last_finished_at, r.last_error) for r in rows]


def seconds_since_last_run(actor: Actor, now: datetime | None = None) -> int | None:
    """Seconds since any periodic job last finished (the unlock job runs every 60 s, so this stays
    under a minute while the worker and its cron are up); None when none has ever finished."""
    if actor.role not in ("admin", "system"):
        raise Forbidden(N_("Only staff see the background jobs."))
    now = now or clock.now()
    with unit_of_work(actor) as uow:
        last = uow.session.scalar(select(func.max(JobHeartbeat.last_finished_at)))
    return None if last is None else max(0, int((now - last).total_seconds()))
