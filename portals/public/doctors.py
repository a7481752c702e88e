"""Doctor search and profiles with the booking card (SPEC §7). Server-rendered first; the booking
card's script only re-renders the same markup from the availability API."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import render_template, request

from core import clock
from core.booking import waitlist
from core.doctors.directory import SearchFilters, get_doctor, search_doctors
from core.errors import ValidationFailed
from core.funnel import record_view
from core.ratings.reviews import doctor_reviews
from core.scheduling.availability import MAX_WINDOW, doctor_availability, next_free_slots
from core.walkin import queue as walkin_queue
from portals.auth import current_actor
from portals.hygiene import parse_day
from portals.i18n import day
from portals.public import public
from portals.public.visitor import visitor_id, visitor_zone

STRIP_DAYS = 7
SHOWN_PILLS = 4


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


@public.get("/doctors")
def doctor_search():
    zone = visitor_zone()
    error = None
    try:
        day = parse_day(request.args.get("date"))
        filters = SearchFilters(name=request.args.get("q", ""), specialty=request.args.get("specialty", ""),
                                language=request.args.get("language", ""), day=day)
    except ValidationFailed as exc:
        error, filters = exc.message, SearchFilters()
    actor = current_actor()
    found = search_doctors(actor, filters, page=_int_arg("page", 1), zone=zone)
    next_slots = next_free_slots(actor, [d.id for d in found.doctors], count=2) if found.doctors else {}
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("public/doctors.html", found=found, filters=filters, next_slots=next_slots,
                           error=error, args=args, today=clock.now().astimezone(zone).date(),
                           see_now=walkin_queue.availability()), 200


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


@public.get("/doctors/<uuid:doctor_id>")
def doctor_profile(doctor_id: uuid.UUID):
    doctor = get_doctor(current_actor(), doctor_id)
    record_view(current_actor(), doctor_id, visitor_id())
    strip = day_strip(doctor_id)
    entry = waitlist.entry_for(current_actor(), doctor_id)
    last_day = day((entry.until_at.astimezone(visitor_zone()) - timedelta(days=1)).date(), "long") if entry else None
    return render_template("public/doctor_profile.html", doctor=doctor, strip=strip, shown=SHOWN_PILLS,
                           reviews=doctor_reviews(doctor_id), waitlist_entry=entry, waitlist_last_day=last_day,
                           waitlist_days=_waitlist_days(strip.today))


def _waitlist_days(today: date) -> tuple[str, str, str]:
    """The booking card's "until" date: from today, two weeks ahead by default, within the window."""
    return (today.isoformat(), (today + timedelta(days=14)).isoformat(), (today + MAX_WINDOW).isoformat())
