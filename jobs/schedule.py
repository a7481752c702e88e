"""Every periodic job, declared once (RQ 2 cron), and the wrapper that records its heartbeat."""

from __future__ import annotations

from collections.abc import Callable

from rq.cron import CronScheduler

from core import heartbeats
from jobs.maintenance import purge_reset_tokens
from jobs.metrics import rollup_kpis_job
from jobs.notify import redeliver_outbox_job, send_reminders_job
from jobs.owed import sweep_owed_job
from jobs.payments import lapse_plan_credits_job, reconcile_payments_job
from jobs.privacy import build_queued_exports_job, retention_job
from jobs.scheduling import sync_cal_job, unlock_stale_slots_job
from jobs.video import settle_visits_job
from jobs.waitlist import sweep_waitlist_job
from jobs.walkin import walkin_long_waits_job

QUEUE = "default"

# (function, schedule, name): `interval` seconds or a `cron` expression.
PERIODIC: list[tuple[Callable, dict, str]] = [
    # Refunds, notices and expiries owed by committed transactions whose dispatch was lost.
    (sweep_owed_job, {"interval": 60}, "sweep-owed-effects"),
    (unlock_stale_slots_job, {"interval": 60}, "unlock-stale-slots"),
    (sync_cal_job, {"cron": "*/5 * * * *"}, "cal-sync"),
    (purge_reset_tokens, {"cron": "17 * * * *"}, "purge-reset-tokens"),
    (reconcile_payments_job, {"cron": "*/10 * * * *"}, "reconcile-payments"),
    (lapse_plan_credits_job, {"cron": "*/15 * * * *"}, "lapse-plan-credits"),
    # Reminders 24 h and 1 h before (SPEC §11); the outbox's idempotency key queues each once,
    # however many sweeps see it.
    (send_reminders_job, {"cron": "*/5 * * * *"}, "reminders"),
    # Lost deliveries, and sends whose 2-minute lease ran out (a worker died mid-send).
    (redeliver_outbox_job, {"cron": "*/2 * * * *"}, "redeliver-outbox"),
    # After each consultation's window: no-show, doctor no-show (refund + credit), reminder (SPEC §16).
    (settle_visits_job, {"interval": 60}, "settle-visits"),
    (build_queued_exports_job, {"cron": "7-59/10 * * * *"}, "privacy-exports"),  # SPEC §21: lost export jobs
    (retention_job, {"cron": "40 2 * * *"}, "privacy-retention"),  # SPEC §21: nightly, idempotent
    # Walk-ins waiting longer than WALKIN_MAX_WAIT: keep waiting or a full refund, by email (SPEC §17).
    (walkin_long_waits_job, {"interval": 60}, "walkin-long-waits"),
    # Waitlist offers not answered within 15 minutes: the time goes to the next waiter (SPEC §17).
    (sweep_waitlist_job, {"interval": 60}, "waitlist-offers"),
    # The admin console's daily KPI roll-ups: the last 8 days again, and any day missing (SPEC §22).
    # An interval, so a worker that starts fills the missing days at once.
    (rollup_kpis_job, {"interval": 600}, "kpi-rollups"),
]
BY_NAME = {name: func for func, _, name in PERIODIC}


def run_periodic(name: str):
    """What the cron enqueues: the named job, between two heartbeats (`job_heartbeats`), so the
    admin console knows when each last ran and whether it failed. A failure is re-raised: RQ keeps
    it in its failed registry (the "jobs failing" alert)."""
    job = BY_NAME[name]
    heartbeats.job_started(name)
    try:
        result = job()
    except Exception as exc:
        heartbeats.job_finished(name, error=type(exc).__name__)
        raise
    heartbeats.job_finished(name)
    return result


def build_cron(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, logging_level="WARNING")
    for _func, when, name in PERIODIC:
        scheduler.register(run_periodic, queue_name=QUEUE, args=(name,), name=name, **when)
    return scheduler
