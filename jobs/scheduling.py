"""Scheduling jobs (SPEC §3)."""

from rq import get_current_job

from core import config
from core.scheduling.cal_service import sync_calendars
from core.scheduling.holds import HoldMirror, unlock_stale_slots


def unlock_stale_slots_job() -> int:
    """Every 60 s: release holds whose 15 minutes are over, and their Redis mirror keys
    (on the worker's own Redis connection)."""
    job = get_current_job()
    return unlock_stale_slots(mirror=HoldMirror(job.connection if job else None))


def sync_cal_job() -> dict:
    """Every 5 minutes: Cal.com busy times in, explicit availability out."""
    return sync_calendars(config.current().cal_api_key)
