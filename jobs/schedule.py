"""Every periodic job, declared once (RQ 2 cron)."""

from __future__ import annotations

from rq.cron import CronScheduler

from jobs.maintenance import purge_reset_tokens

QUEUE = "default"

# (function, schedule, name): `interval` seconds or a `cron` expression.
PERIODIC = [
    (purge_reset_tokens, {"cron": "17 * * * *"}, "purge-reset-tokens"),
]


def build_cron(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name="doktu-cron")
    for func, when, name in PERIODIC:
        scheduler.register(func, queue_name=QUEUE, name=name, **when)
    return scheduler
