"""A doctor's private iCalendar feed (SPEC §19): their Doktu consultations, to subscribe from
Google, Outlook or Apple Calendar.

- The URL carries a secret token: an HMAC of the doctor and their `feed_version` under the app's
  secret key, so nothing secret is stored and rotating (version + 1) kills every old URL at once.
- Patients appear only as initials ("Consultation — N.H."): a feed URL ends up in third-party
  calendars, so it carries no name, no email, no reason for the visit.
- One event per appointment for its whole life, with the same UID as the email invites
  (`core.notify.invites.event_uid`): a reschedule moves it (SEQUENCE + 1), a cancellation keeps it
  with STATUS:CANCELLED so subscribed calendars strike it out rather than lose track of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select, update

from core import clock
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import unit_of_work
from core.errors import NotFound
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, User
from core.notify.invites import PRODID, event_uid
from core.scheduling.doctor_slots import own_doctor

FEED_STATUSES = ("paid", "confirmed", "completed", "no_show", "cancelled")  # not unpaid holds
PAST_DAYS, FUTURE_DAYS = 60, 366


def feed_token(doctor_id: uuid.UUID, version: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"doctor-feed:{doctor_id}:{version}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def feed_path(doctor_id: uuid.UUID, token: str) -> str:
    return f"/calendar/{doctor_id}/{token}.ics"


def initials(name: str) -> str:
    """"Noor Haddad" → "N.H."; never more than the first letters of two words."""
    words = [w for w in (name or "").split() if w[:1].isalpha()]
    return "".join(f"{w[0].upper()}." for w in (words[:1] + words[-1:] if len(words) > 1 else words)) or "?"


def own_feed_path(actor: Actor, secret: str) -> str:
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        return feed_path(doctor.id, feed_token(doctor.id, doctor.feed_version, secret))


def rotate_feed(actor: Actor, secret: str) -> str:
    """A new secret URL; the old one stops working at once. Audited. Returns the new path."""
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        version = doctor.feed_version + 1
        uow.session.execute(update(Doctor).where(Doctor.id == doctor.id).values(feed_version=version))
        record_audit(uow.session, actor, action="doctor.feed_rotated", subject_type="doctor",
                     subject_id=str(doctor.id), at=clock.now(), details={})
        return feed_path(doctor.id, feed_token(doctor.id, version, secret))


def build_feed(doctor_id: uuid.UUID, token: str, secret: str, *, base_url: str) -> bytes:
    """The feed for a valid token (a wrong or rotated one → ERR_NOT_FOUND, saying nothing more)."""
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        doctor = s.get(Doctor, doctor_id)
        if doctor is None or not secret or not hmac.compare_digest(
                token, feed_token(doctor.id, doctor.feed_version, secret)):
            raise NotFound(N_("No such calendar."))
        rows = s.execute(
            select(Appointment, User.full_name).join(Patient, Patient.id == Appointment.patient_id)
            .join(User, User.id == Patient.user_id)
            .where(Appointment.doctor_id == doctor.id, Appointment.status.in_(FEED_STATUSES),
                   Appointment.start_at >= now - timedelta(days=PAST_DAYS),
                   Appointment.start_at < now + timedelta(days=FUTURE_DAYS))
            .order_by(Appointment.start_at)).all()
        name = doctor.display_name
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Doktu — {name}")
    calendar.add("x-published-ttl", "PT15M")  # clients that honour it refresh every 15 minutes
    for appointment, patient_name in rows:
        event = Event()
        event.add("uid", event_uid(appointment.id))
        event.add("dtstamp", (appointment.updated_at or now).astimezone(UTC))
        event.add("last-modified", (appointment.updated_at or now).astimezone(UTC))
        event.add("dtstart", appointment.start_at.astimezone(UTC))
        event.add("dtend", appointment.end_at.astimezone(UTC))
        event.add("summary", f"Doktu consultation — {initials(patient_name)}")
        cancelled = appointment.status == "cancelled"
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("sequence", appointment.reschedule_count + (1 if cancelled else 0))
        event.add("url", f"{base_url.rstrip('/')}/doctor/")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
