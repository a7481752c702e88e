"""A doctor's patient records (SPEC §9 doctor portal "Patient records"; GDPR art. 9; issue 8).

A doctor sees the patients they have seen or will see: patients with at least one booked, completed
or missed consultation with them (an unpaid hold or a cancelled booking is not a care relationship),
each with their health profile. Row-level security already limits a doctor to patients with any
appointment with them; this service narrows that to the care relationship, and writes an
`audit_events` row for every look — the list (`patient_records.listed`) and each record
(`patient_record.viewed`) — in the same transaction as the read, so no record is shown unaudited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from core import clock
from core.actor import Actor
from core.audit import record_audit
from core.booking import lifecycle
from core.db import unit_of_work
from core.errors import Forbidden, NotFound
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, User
from core.search import matches

CARE_STATUSES = (*lifecycle.BOOKED, lifecycle.COMPLETED, lifecycle.NO_SHOW)


@dataclass(frozen=True)
class PatientSummary:
    patient_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    consultations: int
    last_seen: datetime | None
    next_visit: datetime | None
    # Namesakes told apart (SPEC §18): four "Chloé Bernard" differ by birth date and email.
    date_of_birth: date | None = None
    email: str = ""


# A page of the list: a doctor with hundreds of patients finds one by name or email, and the
# portal never draws hundreds of rows at once (242 rows froze the browser for 21 s).
RECORDS_PAGE = 20


@dataclass(frozen=True)
class PatientPage:
    patients: list[PatientSummary]
    first: int  # index of the page's first patient among the matches (0-based)
    total: int  # how many patients match

    @property
    def has_previous(self) -> bool:
        return self.first > 0

    @property
    def has_next(self) -> bool:
        return self.first + len(self.patients) < self.total

    @property
    def number(self) -> int:
        """Which page this is (0-based)."""
        return self.first // RECORDS_PAGE

    @property
    def single(self) -> bool:
        """Every match fits on one page: no pager needed."""
        return self.total <= RECORDS_PAGE


def page_of_patients(patients: list[PatientSummary], query: str | None = None, page: int = 0,
                     size: int = RECORDS_PAGE) -> PatientPage:
    """Page `page` (clamped to the pages there are) of the patients whose name or email contains
    every word of `query`, in the list's order."""
    found = [p for p in patients if matches(query, p.name, p.email)]
    last_page = max(0, (len(found) - 1) // size)
    first = min(max(page, 0), last_page) * size
    return PatientPage(found[first:first + size], first, len(found))


@dataclass(frozen=True)
class PatientVisit:
    id: uuid.UUID
    start: datetime
    status: str


@dataclass(frozen=True)
class PatientRecord:
    patient_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    date_of_birth: date | None
    gender: str | None
    primary_conditions: list[str]
    allergies: list[str]
    profile_completed: bool
    visits: list[PatientVisit]  # with this doctor, most recent first


def _doctor_id(session, actor: Actor) -> uuid.UUID:
    if actor.role != "doctor" or actor.user_id is None:
        raise Forbidden(N_("Only doctors can read patient records."))
    doctor_id = session.scalar(select(Doctor.id).where(Doctor.user_id == actor.user_id))
    if doctor_id is None:
        raise Forbidden(N_("This account has no doctor profile."))
    return doctor_id


def list_patients(actor: Actor) -> list[PatientSummary]:
    """The doctor's patients, by name, with their last and next consultation (audited)."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        doctor_id = _doctor_id(session, actor)
        past = Appointment.start_at <= now
        # Aggregate per patient first, then join the people: row-level security on `patients` and
        # `users` runs a function for every row it checks, so check each patient once.
        visits = (select(Appointment.patient_id, func.count(Appointment.id).label("n"),
                         func.max(Appointment.start_at).filter(past).label("last"),
                         func.min(Appointment.start_at).filter(~past).label("next"))
                  .where(Appointment.doctor_id == doctor_id, Appointment.status.in_(CARE_STATUSES))
                  .group_by(Appointment.patient_id).cte("visits"))
        rows = session.execute(
            select(Patient.id, User.id, User.full_name, visits.c.n, visits.c.last, visits.c.next,
                   Patient.date_of_birth, User.email)
            .join(Patient, Patient.id == visits.c.patient_id)
            .join(User, User.id == Patient.user_id)
            .order_by(func.lower(User.full_name), Patient.date_of_birth.nulls_last(), User.email, Patient.id)
        ).all()
        record_audit(session, actor, action="patient_records.listed", subject_type="doctor",
                     subject_id=str(doctor_id), at=now, details={"count": len(rows)})
        return [PatientSummary(pid, uid, name, count, last, nxt, born, email)
                for pid, uid, name, count, last, nxt, born, email in rows]


def view_patient_record(actor: Actor, patient_id: uuid.UUID) -> PatientRecord:
    """One patient's health profile and consultations with this doctor (audited)."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        doctor_id = _doctor_id(session, actor)
        visits = session.execute(
            select(Appointment.id, Appointment.start_at, Appointment.status)
            .where(Appointment.doctor_id == doctor_id, Appointment.patient_id == patient_id)
            .order_by(Appointment.start_at.desc())
        ).all()
        if not any(v.status in CARE_STATUSES for v in visits):
            raise NotFound(N_("No such patient among your patients."))
        row = session.execute(
            select(Patient, User.full_name).join(User, User.id == Patient.user_id).where(Patient.id == patient_id)
        ).one_or_none()
        if row is None:
            raise NotFound(N_("No such patient among your patients."))
        patient, name = row
        record_audit(session, actor, action="patient_record.viewed", subject_type="patient",
                     subject_id=str(patient_id), at=now, details={"doctorId": str(doctor_id)})
        return PatientRecord(
            patient.id, patient.user_id, name, patient.date_of_birth, patient.gender,
            list(patient.primary_conditions), list(patient.allergies), patient.onboarded_at is not None,
            [PatientVisit(v.id, v.start_at, v.status) for v in visits],
        )
