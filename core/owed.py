"""Owed side effects (DESIGN "Owed side effects"; issue 23): what a committed transaction owes —
gateway refunds, notices, checkout-session expiries — is a row of `owed_effects`, written by
`UnitOfWork.defer` in that transaction. This module pays the debts.

`run_owed` executes one row once: it claims it (`FOR UPDATE SKIP LOCKED`, still `pending`), runs
its task while holding the claim, and marks it `done` in the same transaction — so two workers, or
the fast path and the sweep, never both run it. A task that raises is retried with a growing delay
(30 s doubling, at most an hour) and, after `MAX_ATTEMPTS` (about a day), parked as `failed` for a
person (docs/operations.md). Each task is idempotent on its own too (Stripe idempotency keys for
refunds, outbox dedupe keys for notices), which covers a crash between the task and the mark.

`sweep_owed` (every minute, `jobs.owed.sweep_owed_job`) runs the rows that are due: those whose
dispatch was lost (Redis down at the commit) and those waiting for a retry.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, tuple_

from core import clock, tasks
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import OwedEffect

log = logging.getLogger(__name__)
RUNNABLE = ("jobs.", "core.")  # a row can only name our own tasks
MAX_ATTEMPTS = 30
FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS = 30, 3600
BATCH = 200
SWEEP_BUDGET_SECONDS = 45.0  # the sweep runs every minute
KEEP_DONE = timedelta(days=30)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … at most an hour between tries."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LAST_RETRY_SECONDS))


def run_owed(effect_id: str | uuid.UUID) -> str:
    """Execute one owed effect if it is still owed (issue 23). Returns `done`, `retry` (failed,
    due again later), `failed` (given up), `busy` (someone else is running it), `missing`, or
    the status it already had."""
    effect_id = uuid.UUID(str(effect_id))
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.scalar(select(OwedEffect).where(OwedEffect.id == effect_id, OwedEffect.status == "pending")
                                 .with_for_update(skip_locked=True))
        if row is None:
            status = uow.session.scalar(select(OwedEffect.status).where(OwedEffect.id == effect_id))
            return "missing" if status is None else "busy" if status == "pending" else status
        row.attempts += 1
        try:
            if not row.task.startswith(RUNNABLE):
                raise ValueError("not a Doktu task")
            tasks.call(row.task, row.args or [], row.kwargs or {})
        except Exception as exc:  # recorded, then retried by the sweep
            row.last_error = f"{type(exc).__name__}"[:200]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.next_attempt_at = clock.now() + retry_delay(row.attempts)
            outcome = "failed" if row.status == "failed" else "retry"
        else:
            row.status, row.done_at, row.last_error = "done", clock.now(), None
            outcome = "done"
        task, attempts, error = row.task, row.attempts, row.last_error
    extra = {"effectId": str(effect_id), "task": task, "attempt": attempts}
    if outcome == "done":
        log.info("owed effect done", extra=extra)
    elif outcome == "failed":
        log.error("owed effect given up", extra={**extra, "error": error})
    else:
        log.warning("owed effect failed, will retry", extra={**extra, "error": error})
    return outcome


def sweep_owed(now: datetime | None = None, *, limit: int = BATCH, budget_seconds: float = SWEEP_BUDGET_SECONDS) \
        -> dict[str, int]:
    """Run every owed effect that is due (issue 23: nothing owed is lost when RQ could not take
    it), oldest first, batch after batch for at most `budget_seconds` (a backlog after an outage
    drains within minutes, and sweeps barely overlap), and forget effects done more than 30 days
    ago. Returns counts by outcome."""
    now = now or clock.now()
    deadline = time.monotonic() + budget_seconds
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(delete(OwedEffect).where(OwedEffect.status == "done",
                                                     OwedEffect.done_at < now - KEEP_DONE))
    counts: Counter[str] = Counter()
    after: tuple[datetime, uuid.UUID] | None = None  # keyset: rows busy elsewhere are passed, not re-read
    while time.monotonic() < deadline:
        query = select(OwedEffect.next_attempt_at, OwedEffect.id).where(
            OwedEffect.status == "pending", OwedEffect.next_attempt_at <= now)
        if after is not None:
            query = query.where(tuple_(OwedEffect.next_attempt_at, OwedEffect.id) > tuple_(*after))
        with unit_of_work(SYSTEM) as uow:
            due = uow.session.execute(query.order_by(OwedEffect.next_attempt_at, OwedEffect.id).limit(limit)).all()
        for due_at, effect_id in due:
            counts[run_owed(effect_id)] += 1
            after = (due_at, effect_id)
            if time.monotonic() >= deadline:
                break
        if len(due) < limit:
            break
    if counts:
        log.info("owed effects swept", extra=dict(counts))
    return dict(counts)


@dataclass(frozen=True)
class OwedSummary:
    task: str
    status: str
    count: int
    oldest: datetime


def owed_summary() -> list[OwedSummary]:
    """What is owed, by task and status, with the oldest row (operations runbook)."""
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.execute(select(OwedEffect.task, OwedEffect.status, func.count(),
                                          func.min(OwedEffect.created_at))
                                   .where(OwedEffect.status != "done")
                                   .group_by(OwedEffect.task, OwedEffect.status).order_by(OwedEffect.task)).all()
    return [OwedSummary(*row) for row in rows]


def retry_failed(effect_id: str | uuid.UUID | None = None) -> int:
    """Put given-up effects (one, or all) back in the queue, after a person fixed the cause."""
    with unit_of_work(SYSTEM) as uow:
        query = select(OwedEffect).where(OwedEffect.status == "failed").with_for_update()
        if effect_id is not None:
            query = query.where(OwedEffect.id == uuid.UUID(str(effect_id)))
        rows = uow.session.scalars(query).all()
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
    return len(rows)
