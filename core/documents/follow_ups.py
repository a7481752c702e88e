"""Follow-up suggestions (SPEC §18): the doctor suggests "book again with me within N days"; the
patient's dashboard shows a button that opens that doctor's booking card on the right week — the
7 days that end on the last suggested day (or from today, if that is later)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from core import clock
from core.actor import Actor
from core.db import unit_of_work
from core.documents.issuing import doctor_of, writable_appointment
from core.errors import Forbidden, ValidationFailed
from core.i18n import N_
from core.models import Appointment, Doctor, FollowUp, Patient

MAX_DAYS = 60
STRIP_DAYS = 7


@dataclass(frozen=True)
class FollowUpSuggestion:
    appointment_id: uuid.UUID
    doctor_id: uuid.UUID
    doctor_name: str
    within_days: int
    book_by: date  # the last day suggested, in the doctor's zone
    open_from: date  # the first day of the booking card's week

    @property
    def booking_url(self) -> str:
        return f"/doctors/{self.doctor_id}?from={self.open_from.isoformat()}#booking"


def follow_up_window(consultation_day: date, within_days: int, today: date) -> tuple[date, date]:
    """(book by, open the card from): the card shows the 7 days ending on `book by`, never before today."""
    book_by = consultation_day + timedelta(days=within_days)
    return book_by, max(today, book_by - timedelta(days=STRIP_DAYS - 1))


def suggest_follow_up(actor: Actor, appointment_id: uuid.UUID, within_days: int | None) -> int:
    """The consultation's doctor suggests a follow-up within 1–60 days (once per consultation; a new
    suggestion replaces the previous one)."""
    if within_days is None or not 1 <= within_days <= MAX_DAYS:
        raise ValidationFailed(N_("Suggest a follow-up within 1 to %(count)d days."), details={"field": "withinDays"},
                               params={"count": MAX_DAYS})
    now = clock.now()
    with unit_of_work(actor) as uow:
        doctor = doctor_of(uow.session, actor)
        appointment = writable_appointment(uow.session, doctor, appointment_id, now)
        uow.session.execute(insert(FollowUp).values(
            appointment_id=appointment.id, doctor_id=doctor.id, patient_id=appointment.patient_id,
            within_days=within_days, created_at=now,
        ).on_conflict_do_update(index_elements=[FollowUp.appointment_id], set_={"within_days": within_days}))
    return within_days


def patient_follow_ups(actor: Actor) -> list[FollowUpSuggestion]:
    """The patient's open suggestions (the last suggested day not yet past), soonest first."""
    if actor.role != "patient":
        raise Forbidden(N_("Follow-ups are shown to the patient."))
    now = clock.now()
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(FollowUp, Appointment.start_at, Doctor.display_name, Doctor.timezone)
            .join(Appointment, Appointment.id == FollowUp.appointment_id)
            .join(Doctor, Doctor.id == FollowUp.doctor_id)
            .join(Patient, Patient.id == FollowUp.patient_id)
            .where(Patient.user_id == actor.user_id)).all()
    found = []
    for f, start, name, tz in rows:
        zone = ZoneInfo(tz)
        today = now.astimezone(zone).date()
        book_by, open_from = follow_up_window(start.astimezone(zone).date(), f.within_days, today)
        if book_by >= today:
            found.append(FollowUpSuggestion(f.appointment_id, f.doctor_id, name, f.within_days, book_by, open_from))
    return sorted(found, key=lambda s: s.book_by)


def follow_up_of(actor: Actor, appointment_id: uuid.UUID) -> int | None:
    with unit_of_work(actor) as uow:
        return uow.session.scalar(select(FollowUp.within_days).where(FollowUp.appointment_id == appointment_id))
