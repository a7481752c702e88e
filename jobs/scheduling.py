"""Scheduling jobs (SPEC §3)."""

from core import config
from core.scheduling.cal_service import sync_calendars
from core.scheduling.holds import unlock_stale_slots


def unlock_stale_slots_job() -> int:
    """Every 60 s: release holds whose 15 minutes are over (their Redis mirror keys go with the
    commit, through the runtime's hold mirror)."""
    return unlock_stale_slots()


def sync_cal_job() -> dict:
    """Every 5 minutes: Cal.com busy times in, explicit availability out."""
    return sync_calendars(config.current().cal_api_key)
