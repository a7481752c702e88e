"""Who looked at my record (SPEC §21; GDPR art. 15): a patient sees every access to their health
data — who, when, what — from `audit_events`, newest first, paged on the server.

An access is an audit event whose subject is the patient's health record (`subject_type`
'patient', `subject_id` the patients row), made by someone else. Events about the account itself
(exports, erasure) are not accesses to health data: they are in the export's activity file. A new
kind of health data (documents, notes) is covered by auditing its views with the patient as
subject (`record_audit(..., subject_type="patient", subject_id=<patients.id>)`). Only staff may read the
audit trail directly, so the service reads it as the system, filtered to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from core.actor import Actor
from core.db import acting_as_system, unit_of_work
from core.errors import Forbidden
from core.i18n import N_
from core.models import AuditEvent, Doctor, Patient

PER_PAGE = 20
MAX_PAGE = 10_000
# What each audited action means to a patient; any other action is shown by its name.
ACTIONS = {
    "patient_record.viewed": "Opened your health record",
    "document.issued": "Issued you a document",
    "document.viewed": "Opened one of your documents",
    "document.downloaded": "Downloaded one of your documents",
    "appointment.completed": "Completed your consultation",
    "account.erased": "Erased your account",
}
WHO = {"doctor": "Doctor", "admin": "Doktu staff", "system": "Doktu (automatic)"}


@dataclass(frozen=True)
class Access:
    at: datetime
    role: str
    who: str  # the doctor's name, or the role for staff and the system
    what: str
    action: str


@dataclass(frozen=True)
class AccessPage:
    entries: list[Access]
    page: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def access_log(actor: Actor, page: int = 1, per_page: int = PER_PAGE) -> AccessPage:
    """The patient's access log, page `page` (1-based; out of range → the nearest page)."""
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Only a patient has a health record to show accesses to."))
    with unit_of_work(actor) as uow:
        s = uow.session
        patient_id = s.scalar(select(Patient.id).where(Patient.user_id == actor.user_id))
        where = and_(AuditEvent.subject_type == "patient", AuditEvent.subject_id == str(patient_id),
                     AuditEvent.actor_id.is_distinct_from(actor.user_id))
        with acting_as_system(uow):
            total = s.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
            pages = max(1, -(-total // per_page))
            page = min(max(1, page), pages, MAX_PAGE)
            actor_doctor = aliased(Doctor)
            rows = s.execute(
                select(AuditEvent.occurred_at, AuditEvent.actor_role, AuditEvent.action, actor_doctor.display_name)
                .outerjoin(actor_doctor, actor_doctor.user_id == AuditEvent.actor_id)
                .where(where).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                .offset((page - 1) * per_page).limit(per_page)).all()
    entries = [Access(at, role, _who(role, doctor_name), ACTIONS.get(action, action), action)
               for at, role, action, doctor_name in rows]
    return AccessPage(entries, page, pages, total)


def _who(role: str, doctor_name: str | None) -> str:
    if role == "doctor" and doctor_name:
        return doctor_name
    return WHO.get(role, role)
