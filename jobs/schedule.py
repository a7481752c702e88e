"""Every periodic job, declared once (RQ 2 cron)."""

from __future__ import annotations

from rq.cron import CronScheduler

from jobs.maintenance import purge_reset_tokens
from jobs.notify import redeliver_outbox_job, send_reminders_job
from jobs.payments import lapse_plan_credits_job, reconcile_payments_job
from jobs.privacy import build_queued_exports_job, retention_job
from jobs.scheduling import sync_cal_job, unlock_stale_slots_job

QUEUE = "default"

# (function, schedule, name): `interval` seconds or a `cron` expression.
PERIODIC = [
    (unlock_stale_slots_job, {"interval": 60}, "unlock-stale-slots"),
    (sync_cal_job, {"cron": "*/5 * * * *"}, "cal-sync"),
    (purge_reset_tokens, {"cron": "17 * * * *"}, "purge-reset-tokens"),
    (reconcile_payments_job, {"cron": "*/10 * * * *"}, "reconcile-payments"),
    (lapse_plan_credits_job, {"cron": "*/15 * * * *"}, "lapse-plan-credits"),
    # Reminders 24 h and 1 h before (SPEC §11); each is queued once whatever the number of workers.
    (send_reminders_job, {"cron": "*/5 * * * *"}, "reminders"),
    (redeliver_outbox_job, {"cron": "3-59/10 * * * *"}, "redeliver-outbox"),
    (build_queued_exports_job, {"cron": "7-59/10 * * * *"}, "privacy-exports"),  # SPEC §21: lost export jobs
    (retention_job, {"cron": "40 2 * * *"}, "privacy-retention"),  # SPEC §21: nightly, idempotent
]


def build_cron(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name="doktu-cron")
    for func, when, name in PERIODIC:
        scheduler.register(func, queue_name=QUEUE, name=name, **when)
    return scheduler
