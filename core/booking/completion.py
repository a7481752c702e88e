"""Marking a consultation completed (SPEC §9 doctor portal "Complete"; issue 8).

A doctor marks their own booked (paid or confirmed) appointment completed, from its start time on
(0 minutes after the start: a consultation that ended early is still completed). An admin may do
the same for any appointment. Unpaid holds, cancelled and already completed appointments cannot be
completed (`core.booking.lifecycle` says so). The appointment and its `audit_events` row are
written in one unit of work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core import clock
from core.actor import Actor
from core.audit import record_audit
from core.booking import lifecycle
from core.db import unit_of_work
from core.errors import Forbidden, NotFound, TimeWindow
from core.i18n import N_
from core.models import Appointment, Doctor
from core.ratings.reviews import invite_to_rate

COMPLETERS = ("doctor", "admin")


@dataclass(frozen=True)
class Completed:
    id: uuid.UUID
    status: str
    completed_at: datetime


def completion_refusal(*, status: str, start: datetime, now: datetime) -> str | None:
    """Why this appointment cannot be marked completed now, in the doctor's words; None = it can.
    The same rule `complete` enforces, for the portal's button."""
    if not lifecycle.can_transition(status, lifecycle.COMPLETED):
        return "Only a booked (paid) consultation can be marked completed."
    if now < start:
        return "A consultation can be marked completed once it has started."
    return None


def complete(actor: Actor, appointment_id: uuid.UUID) -> Completed:
    """Mark a booked appointment completed (doctor of the appointment or admin, from its start)."""
    if actor.role not in COMPLETERS or actor.user_id is None:
        raise Forbidden(N_("Only the doctor of this consultation can mark it completed."))
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        appointment = session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
        if appointment is None:  # row-level security hides other doctors' appointments
            raise NotFound(N_("No such appointment."))
        if actor.role == "doctor":
            owner = session.scalar(select(Doctor.user_id).where(Doctor.id == appointment.doctor_id))
            if owner != actor.user_id:
                raise Forbidden(N_("This is not your consultation."))
        lifecycle.check_transition(appointment, lifecycle.COMPLETED)
        if now < appointment.start_at:
            raise TimeWindow(N_("A consultation can be marked completed once it has started."),
                             details={"startsAt": appointment.start_at.isoformat()})
        before = appointment.status
        lifecycle.transition(appointment, lifecycle.COMPLETED)
        appointment.completed_at = appointment.updated_at = now
        session.flush()
        record_audit(session, actor, action="appointment.completed", subject_type="appointment",
                     subject_id=str(appointment.id), at=now, details={"before": before})
        invite_to_rate(uow, appointment)  # SPEC §18: the patient is asked for a rating by email
        return Completed(appointment.id, appointment.status, now)
