"""Read models of appointments. Row-level security decides whose rows an actor can see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.actor import Actor
from core.db import unit_of_work
from core.models import Appointment, Doctor


@dataclass(frozen=True)
class AppointmentView:
    id: uuid.UUID
    doctor_id: uuid.UUID
    doctor_name: str
    patient_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    status: str


def list_appointments(actor: Actor, *, limit: int = 100) -> list[AppointmentView]:
    """The actor's appointments, soonest first: RLS filters rows, not this query."""
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(Appointment, Doctor.display_name)
            .join(Doctor, Doctor.id == Appointment.doctor_id)
            .order_by(Appointment.start_at)
            .limit(limit)
        ).all()
        return [
            AppointmentView(a.id, a.doctor_id, name, a.patient_id, a.start_at, a.end_at, a.status)
            for a, name in rows
        ]
