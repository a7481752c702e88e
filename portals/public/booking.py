"""The booking hand-off (SPEC §7): `/book/<doctorId>` turns a chosen time into a held, pending
appointment at checkout. A guest signs up or logs in first and comes back here; the time they
chose is kept for 15 minutes (in the session here, and in sessionStorage by the page script)."""

from __future__ import annotations

import logging
import time as wallclock
import uuid
from datetime import datetime

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from core.booking.pending import create_pending
from core.doctors.directory import get_doctor
from core.errors import SlotConflict, TimeWindow
from core.scheduling.availability import next_free_slots
from portals.auth import current_actor
from portals.hygiene import parse_moment
from portals.i18n import _
from portals.limits import slot_holds
from portals.public import public

CONTEXT_KEY = "booking_context"
CONTEXT_TTL_SECONDS = 15 * 60
FRESH_SLOTS = 6
log = logging.getLogger(__name__)


def _remembered_start(doctor_id: uuid.UUID) -> datetime | None:
    context = session.get(CONTEXT_KEY) or {}
    if context.get("doctorId") != str(doctor_id) or wallclock.time() - context.get("at", 0) > CONTEXT_TTL_SECONDS:
        return None
    return parse_moment(context.get("start"))


def _remember(doctor_id: uuid.UUID, start: datetime) -> None:
    session[CONTEXT_KEY] = {"doctorId": str(doctor_id), "start": start.isoformat(), "at": int(wallclock.time())}


def _book_url(doctor_id: uuid.UUID, start: datetime | None) -> str:
    return url_for("public.book", doctor_id=doctor_id, start=start.isoformat() if start else None)


@public.get("/book/<uuid:doctor_id>")
def book(doctor_id: uuid.UUID):
    doctor = get_doctor(current_actor(), doctor_id)
    start = parse_moment(request.args.get("start")) or _remembered_start(doctor_id)
    if start is not None and not current_user.is_authenticated:
        _remember(doctor_id, start)
    fresh = next_free_slots(current_actor(), [doctor_id], count=FRESH_SLOTS).get(doctor_id, [])
    role = current_user.role if current_user.is_authenticated else None
    return render_template("public/book.html", doctor=doctor, start=start, fresh=fresh, role=role,
                           back_here=_book_url(doctor_id, start))


@public.post("/book/<uuid:doctor_id>")
@slot_holds
def book_start(doctor_id: uuid.UUID):
    """A pill's form: guests are asked to sign up or log in; patients get the time held and go to
    checkout; a time taken meanwhile comes back here with a message and fresh times."""
    start = parse_moment(request.form.get("start"))
    if start is None:
        flash(_("Please pick a time from the list."), "error")
        return redirect(url_for("public.book", doctor_id=doctor_id))
    if not current_user.is_authenticated:
        _remember(doctor_id, start)
        return redirect(_book_url(doctor_id, start))
    if current_user.role != "patient":
        flash(_("Bookings are made from a patient account."), "error")
        return redirect(_book_url(doctor_id, start))
    try:
        pending = create_pending(current_user.actor, doctor_id, start)
    except (SlotConflict, TimeWindow):
        flash(_("Sorry, that time was just taken. Here are the next free times."), "error")
        session.pop(CONTEXT_KEY, None)
        return redirect(url_for("public.book", doctor_id=doctor_id))
    session.pop(CONTEXT_KEY, None)
    log.info("pending appointment created", extra={"appointmentId": str(pending.id)})
    return redirect(url_for("patient.checkout", appointment_id=pending.id))
