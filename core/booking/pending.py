"""Pending appointments (SPEC §7, §12 `create-pending`): a patient's chosen time, held for 15
minutes while they pay. The hold and the appointment are written in one transaction under the
doctor's lock, so a time is never held by one patient and booked by another."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from core import clock, funnel
from core.actor import Actor
from core.db import UnitOfWork, unit_of_work
from core.errors import NotFound
from core.i18n import N_
from core.models import Appointment, Doctor, Patient
from core.scheduling.holds import SlotHold, lock_doctor, require_patient, take_hold

REPLACED = "Replaced by another time before payment"


@dataclass(frozen=True)
class PendingAppointment:
    id: uuid.UUID
    doctor_id: uuid.UUID
    slot_id: uuid.UUID | None
    start: datetime
    end: datetime
    hold_expires_at: datetime
    price_cents: int
    currency: str
    status: str = "pending"


def _view(a: Appointment) -> PendingAppointment:
    return PendingAppointment(a.id, a.doctor_id, a.slot_id, a.start_at, a.end_at, a.hold_expires_at,
                              a.price_cents, a.currency, a.status)


def create_pending(actor: Actor, doctor_id: uuid.UUID, start: datetime) -> PendingAppointment:
    """Hold `start` and create the pending appointment the payment will confirm.

    Asking again for the same time returns the same appointment (a double click, a reload); asking
    for another time with the same doctor replaces the earlier unpaid one, as a new hold does.
    The health profile is not needed yet: it is asked at checkout, before paying (SPEC §6), so a
    new patient's time is held while they fill it in."""
    require_patient(actor)
    now = clock.now()
    with unit_of_work(actor) as uow:
        created, _hold, _released = create_pending_in(uow, actor, doctor_id, start, now)
    return created


def create_pending_in(uow: UnitOfWork, actor: Actor, doctor_id: uuid.UUID, start: datetime,
                      now: datetime) -> tuple[PendingAppointment, SlotHold | None, list[uuid.UUID]]:
    """`create_pending` inside the caller's transaction (the waitlist books an offered start so).
    Returns the appointment, the hold taken (None when the same time was asked again) and the
    slots given back; the unit of work mirrors both in Redis after its commit."""
    session = uow.session
    lock_doctor(session, doctor_id)
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise NotFound(N_("No such doctor."))
    patient_id = session.scalar(select(Patient.id).where(Patient.user_id == actor.user_id))
    mine = session.scalars(
        select(Appointment).where(Appointment.patient_id == patient_id, Appointment.doctor_id == doctor_id,
                                  Appointment.status == "pending", Appointment.hold_expires_at > now)
    ).all()
    same = next((a for a in mine if a.start_at == start), None)
    if same is not None:
        return _view(same), None, []
    if mine:
        session.execute(update(Appointment).where(Appointment.id.in_([a.id for a in mine])).values(
            status="cancelled", cancelled_by="patient", cancelled_at=now, updated_at=now,
            cancel_reason=REPLACED))
        from core.booking import waitlist  # a replaced hold frees its time (SPEC §17 waitlist)

        waitlist.owe_offers(uow, doctor_id, [a.start_at for a in mine])
    hold, released = take_hold(session, actor, doctor_id, start, now)
    appointment = Appointment(doctor_id=doctor_id, patient_id=patient_id, slot_id=hold.slot_id,
                              start_at=hold.start, end_at=hold.end, status="pending",
                              hold_expires_at=hold.locked_until, price_cents=doctor.price_cents)
    session.add(appointment)
    session.flush()
    funnel.record(session, "slot_held", user_id=actor.user_id, doctor_id=doctor_id, appointment_id=appointment.id)
    uow.holds_freed(released)
    uow.hold_taken(hold.slot_id, actor.user_id)
    return _view(appointment), hold, released


def get_pending(actor: Actor, appointment_id: uuid.UUID) -> PendingAppointment:
    """One of the actor's appointments (RLS hides everyone else's, which then reads as not found)."""
    with unit_of_work(actor) as uow:
        found = uow.session.get(Appointment, appointment_id)
        if found is None:
            raise NotFound(N_("No such appointment."))
        return _view(found)
