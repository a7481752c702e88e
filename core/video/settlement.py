"""Settling a consultation after its window (SPEC §16, §5): what happened in the room decides the
outcome, once, whatever the number of runs or workers.

From start + 30 min (the window's end, that minute included), for a consultation still booked:
- both joined → it stays booked: the doctor's Complete is the way to `completed`; from start + 2 h,
  still not completed, the doctor gets one reminder to complete it;
- the doctor joined and the patient never did → `no_show` (the patient's; no refund, SPEC §5);
- the patient came (waited or joined) and the doctor never joined → cancelled *by the doctor*
  through `core.booking.changes.cancel`, so the late-doctor rule applies (full refund + €10
  credit), with its history, audit and notices; admins see it in the alert feed;
- neither joined → `no_show`.

Exactly once: each consultation is settled in its own transaction that locks its row (SKIP LOCKED:
a second worker passes on to the next one) and re-reads its status; the settlement's `ended` row
is unique per (appointment, outcome); the cancellation's own row lock and state check refuse a
second cancel; the reminder's outbox dedupe key sends it once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from core import clock, i18n
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.booking import changes, lifecycle
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import InvalidTransition
from core.models import Appointment, Doctor, User, VisitEvent
from core.notify.appointments import links
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import language_of, render, zone_of
from core.video import presence
from core.video.policy import JOIN_CLOSES

log = logging.getLogger(__name__)

SETTLE_AFTER = JOIN_CLOSES  # start + 30 min: the room has closed
REMIND_AFTER = timedelta(hours=2)  # start + 2 h: remind the doctor to complete
LOOKBACK = timedelta(days=7)  # a worker that was down for days still settles what it missed
HELD, NO_SHOW, DOCTOR_NO_SHOW, REMINDED = "held", "no_show", "doctor_no_show", "doctor_reminded"
DOCTOR_NO_SHOW_REASON = "The doctor did not join the consultation (settled automatically after the window)."


def outcome(*, doctor_joined: bool, patient_joined: bool, patient_came: bool) -> str:
    """The rule of SPEC §16 over plain facts: held | no_show | doctor_no_show."""
    if doctor_joined:
        return HELD if patient_joined else NO_SHOW
    return DOCTOR_NO_SHOW if patient_came else NO_SHOW


@dataclass(frozen=True)
class Settled:
    held: int = 0
    no_show: int = 0
    doctor_no_show: int = 0
    reminded: int = 0


_DUE = text("""
SELECT a.id FROM appointments a
 WHERE a.status IN ('paid', 'confirmed') AND a.start_at <= :settle_before AND a.start_at > :since
   AND NOT EXISTS (SELECT 1 FROM visit_events e WHERE e.appointment_id = a.id AND e.kind = 'ended'
                      AND e.outcome IN ('held', 'no_show', 'doctor_no_show'))
 ORDER BY a.start_at
""")
_REMIND = text("""
SELECT a.id FROM appointments a
 WHERE a.status IN ('paid', 'confirmed') AND a.start_at <= :remind_before AND a.start_at > :since
   AND EXISTS (SELECT 1 FROM visit_events e WHERE e.appointment_id = a.id AND e.kind = 'ended' AND e.outcome = 'held')
   AND NOT EXISTS (SELECT 1 FROM visit_events e WHERE e.appointment_id = a.id AND e.kind = 'ended'
                      AND e.outcome = 'doctor_reminded')
 ORDER BY a.start_at
""")


def settle_due(now: datetime | None = None) -> Settled:
    """Settle every consultation whose window has closed (the job runs every minute)."""
    now = now or clock.now()
    params = {"settle_before": now - SETTLE_AFTER, "remind_before": now - REMIND_AFTER, "since": now - LOOKBACK}
    with unit_of_work(SYSTEM) as uow:
        due = list(uow.session.scalars(_DUE, params))
        remind = list(uow.session.scalars(_REMIND, params))
    counts = {HELD: 0, NO_SHOW: 0, DOCTOR_NO_SHOW: 0, REMINDED: 0}
    for appointment_id in due:
        done = settle_one(appointment_id, now)
        if done:
            counts[done] += 1
    for appointment_id in remind:
        if remind_doctor(appointment_id, now):
            counts[REMINDED] += 1
    return Settled(counts[HELD], counts[NO_SHOW], counts[DOCTOR_NO_SHOW], counts[REMINDED])


def settle_one(appointment_id: uuid.UUID, now: datetime) -> str | None:
    """Settle one consultation; returns the outcome applied, or None when there was nothing to do
    (already settled, completed or cancelled meanwhile, locked by another worker, or too early)."""
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        appointment = s.scalar(select(Appointment).where(Appointment.id == appointment_id)
                               .with_for_update(skip_locked=True).execution_options(populate_existing=True))
        if appointment is None or not lifecycle.is_booked(appointment.status) \
                or now < appointment.start_at + SETTLE_AFTER:
            return None
        events = presence.load(s, [appointment_id])[appointment_id]
        doctor = presence.summarise(events.get("doctor", []))
        patient = presence.summarise(events.get("patient", []))
        decided = outcome(doctor_joined=doctor.ever_joined, patient_joined=patient.ever_joined,
                          patient_came=patient.ever_came)
        if decided == DOCTOR_NO_SHOW:
            doctor_user = s.scalar(select(Doctor.user_id).where(Doctor.id == appointment.doctor_id))
        else:
            if not _mark(uow, appointment_id, decided, now):
                return None
            if decided == NO_SHOW:
                before = appointment.status
                lifecycle.transition(appointment, lifecycle.NO_SHOW)
                appointment.updated_at = now
                s.flush()
                record_audit(s, SYSTEM, action="appointment.no_show", subject_type="appointment",
                             subject_id=str(appointment_id), at=now,
                             details={"before": before, "doctorJoined": doctor.ever_joined,
                                      "patientCame": patient.ever_came})
            return decided
    # The late-doctor cancellation runs as the doctor's cancellation (SPEC §5: full refund + €10
    # credit), in its own transaction, which writes the settlement's row too.
    try:
        changes.cancel(Actor(doctor_user, "doctor"), appointment_id, DOCTOR_NO_SHOW_REASON,
                       also=lambda cancel_uow, _appointment: _mark(cancel_uow, appointment_id, DOCTOR_NO_SHOW, now,
                                                                   as_system=True))
    except InvalidTransition:
        return None  # another worker cancelled it a moment ago
    log.warning("consultation %s: the doctor never joined; cancelled with the late-doctor refund", appointment_id)
    return DOCTOR_NO_SHOW


def remind_doctor(appointment_id: uuid.UUID, now: datetime) -> bool:
    """Once, from start + 2 h: remind the doctor to complete a consultation both sides joined."""
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        row = s.execute(select(Appointment.status, Appointment.start_at, User.email, User.full_name, User.locale,
                               User.timezone, User.device_zone, Doctor.timezone.label("doctor_zone"))
                        .join(Doctor, Doctor.id == Appointment.doctor_id).join(User, User.id == Doctor.user_id)
                        .where(Appointment.id == appointment_id)
                        .with_for_update(of=Appointment, skip_locked=True)).one_or_none()
        if row is None or not lifecycle.is_booked(row.status) or now < row.start_at + REMIND_AFTER:
            return False
        if not _mark(uow, appointment_id, REMINDED, now):
            return False
        portal = links(appointment_id)["portal_url"]
        # In the doctor's language and zone (SPEC §20), like every other message.
        language = language_of(row.locale)
        message = render("consultation_to_complete", language, doctor_name=row.full_name, portal_url=portal,
                         when=i18n.format_moment(row.start_at, zone_of(row.timezone, row.device_zone, row.doctor_zone),
                                                 language))
        queue_once(uow, Outgoing("email", row.email, message.text, subject=message.subject, html=message.html),
                   f"complete-reminder:{appointment_id}", now=now)
        return True


def _mark(uow: UnitOfWork, appointment_id: uuid.UUID, outcome_: str, now: datetime, *, as_system: bool = False) -> bool:
    """The settlement's `ended` row for this outcome; False if it was already there."""
    statement = insert(VisitEvent).values(appointment_id=appointment_id, user_id=None, role="system", kind="ended",
                                          outcome=outcome_, details={}, occurred_at=now) \
        .on_conflict_do_nothing(index_elements=[VisitEvent.appointment_id, VisitEvent.outcome],
                                index_where=text("kind = 'ended'")).returning(VisitEvent.id)
    if as_system:
        with acting_as_system(uow):
            return uow.session.scalar(statement) is not None
    return uow.session.scalar(statement) is not None
