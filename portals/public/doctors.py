"""Doctor search and profiles with the booking card (SPEC §7). Server-rendered first; the booking
card's script only re-renders the same markup from the availability API."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import render_template, request

from core import clock
from core.booking import waitlist
from core.doctors.directory import SearchFilters, get_doctor, search_doctors
from core.errors import ValidationFailed
from core.funnel import record_view
from core.ratings.reviews import doctor_reviews
from core.scheduling.availability import MAX_WINDOW, next_free_slots
from core.walkin import queue as walkin_queue
from portals.auth import current_actor
from portals.hygiene import parse_day
from portals.i18n import day, refusal_text
from portals.public import public
from portals.web.cards import day_strip
from portals.web.visitor import visitor_id, visitor_zone

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
        error, filters = refusal_text(exc), SearchFilters()
    actor = current_actor()
    found = search_doctors(actor, filters, page=_int_arg("page", 1), zone=zone)
    next_slots = next_free_slots(actor, [d.id for d in found.doctors], count=2) if found.doctors else {}
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("public/doctors.html", found=found, filters=filters, next_slots=next_slots,
                           error=error, args=args, today=clock.now().astimezone(zone).date(),
                           see_now=walkin_queue.availability()), 200


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
