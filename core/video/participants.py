"""Who takes part in a consultation's video session: its patient and its doctor, nobody else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.errors import Forbidden, NotFound
from core.i18n import N_
from core.models import Appointment, Doctor, Patient


@dataclass(frozen=True)
class Participation:
    appointment_id: uuid.UUID
    role: str  # "doctor" | "patient": the side of the consultation the actor is on
    start_at: datetime
    status: str
    doctor_name: str


def participation(session: Session, actor: Actor, appointment_id: uuid.UUID) -> Participation:
    """The actor's part in the appointment. Row-level security hides other people's appointments
    (404, as everywhere); an admin sees them but is no participant (403)."""
    row = session.execute(
        select(Appointment.start_at, Appointment.status, Doctor.user_id, Doctor.display_name, Patient.user_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.id == appointment_id)).one_or_none()
    if row is None:
        raise NotFound(N_("No such appointment."))
    start_at, status, doctor_user, doctor_name, patient_user = row
    if actor.user_id is not None and actor.user_id == doctor_user and actor.role == "doctor":
        role = "doctor"
    elif actor.user_id is not None and actor.user_id == patient_user and actor.role == "patient":
        role = "patient"
    else:
        raise Forbidden(N_("Only the patient and the doctor of a consultation take part in its video session."))
    return Participation(appointment_id, role, start_at, status, doctor_name)
