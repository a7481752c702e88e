"""Doctor cards shown by more than one portal: the home grid's size and a doctor's 7-day strip of
free times (the public profile's booking card, the patient's reschedule page)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import request

from core import clock
from core.errors import ValidationFailed
from core.scheduling.availability import MAX_WINDOW, doctor_availability
from portals.auth import current_actor
from portals.hygiene import parse_day
from portals.web.visitor import visitor_zone

HOME_GRID = 10  # doctors on the home page's grid (and the dashboard's "book again")
STRIP_DAYS = 7


@dataclass(frozen=True)
class DayStrip:
    """The 7-day strip of a booking card (the profile) or a reschedule page, from `?from=&day=`."""

    days: list[date]
    per_day: dict[date, list]
    selected: date
    today: date
    prev_from: date | None
    next_from: date | None
    zone: str

    @property
    def slots(self) -> list:
        return self.per_day.get(self.selected, [])


def day_strip(doctor_id: uuid.UUID) -> DayStrip:
    """The strip asked for by the query string (bad dates fall back to today), the free starts of each
    day from one engine call, opening on the asked day or else the first day with a free time."""
    zone = visitor_zone()
    now = clock.now()
    today = now.astimezone(zone).date()
    last_first = today + MAX_WINDOW - timedelta(days=STRIP_DAYS)
    try:
        first = parse_day(request.args.get("from")) or today
        selected = parse_day(request.args.get("day"))
    except ValidationFailed:
        first, selected = today, None
    first = min(max(first, today), last_first)
    start = max(datetime.combine(first, time.min, zone), now)
    end = datetime.combine(first + timedelta(days=STRIP_DAYS), time.min, zone)
    found = doctor_availability(current_actor(), doctor_id, start, end) if end > start else None
    per_day: dict[date, list] = defaultdict(list)
    for entry in found.slots if found else []:
        if entry.is_available:
            per_day[entry.start.astimezone(zone).date()].append(entry)
    days = [first + timedelta(days=i) for i in range(STRIP_DAYS)]
    if selected not in days:
        selected = next((d for d in days if per_day.get(d)), first)
    return DayStrip(days, per_day, selected, today,
                    prev_from=first - timedelta(days=STRIP_DAYS) if first > today else None,
                    next_from=first + timedelta(days=STRIP_DAYS) if first < last_first else None, zone=zone.key)
