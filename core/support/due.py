"""When the care team owes an answer (issue 25; /pricing "Priority support: an answer from our care
team within 4 working hours"): working hours are Monday to Friday, 09:00–18:00 Europe/Paris,
except the public holidays of `SUPPORT_HOLIDAYS`. Premium members' conversations are due within 4
working hours, everyone else's within 2 working days (18 working hours). Pure functions: the
clock and the holidays are arguments.

A message received outside working hours starts counting at the next opening (Friday 20:00 + 4 h
→ Monday 13:00). Wall-clock hours in Paris: a DST change happens at night, outside the hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Paris")
OPENS, CLOSES = time(9), time(18)
DAY_MINUTES = 9 * 60
PRIORITY_MINUTES = 4 * 60
STANDARD_MINUTES = 2 * DAY_MINUTES


def is_working_day(day: date, holidays: Iterable[date]) -> bool:
    return day.weekday() < 5 and day not in set(holidays)


def add_working_minutes(start: datetime, minutes: int, holidays: Iterable[date]) -> datetime:
    """`start` plus `minutes` of working time (Mon–Fri 09–18 Paris, holidays off), as an aware datetime."""
    off = frozenset(holidays)
    local = start.astimezone(ZONE).replace(tzinfo=None)
    day, at = local.date(), local.time()
    if at >= CLOSES:
        day, at = day + timedelta(days=1), OPENS
    at = max(at, OPENS)
    left = minutes
    while True:
        if not is_working_day(day, off):
            day, at = day + timedelta(days=1), OPENS
            continue
        begin = datetime.combine(day, at)
        available = int((datetime.combine(day, CLOSES) - begin).total_seconds() // 60)
        if left <= available:
            return (begin + timedelta(minutes=left)).replace(tzinfo=ZONE).astimezone(start.tzinfo or ZONE)
        left -= available
        day, at = day + timedelta(days=1), OPENS


def due_at(received_at: datetime, *, priority: bool, holidays: Iterable[date]) -> datetime:
    """When an answer to a message received at `received_at` is due: 4 working hours for
    Premium members (`priority`), 2 working days for everyone else."""
    return add_working_minutes(received_at, PRIORITY_MINUTES if priority else STANDARD_MINUTES, holidays)
