"""The doctor's upcoming consultations (SPEC §9 doctor portal; issue 8): who is next, whether the
call can be joined, completed or cancelled now, and what a cancellation would give back — the same
rules the services enforce, so a button is enabled exactly when the server would accept it.

Joining follows the video service's rule (`core.video.policy`): the window, and a device test
passed by the doctor in the last 24 hours.

The list: booked consultations that started in the last 24 hours and are not marked completed yet
(they need wrapping up), then every appointment whose join window has not closed (start + 30 min),
soonest first. Unpaid holds that simply ran out (cancelled by nobody) are left out: they were never
a consultation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from core import clock
from core.actor import Actor
from core.booking import lifecycle, policy
from core.booking.completion import completion_refusal
from core.db import acting_as_system, unit_of_work
from core.errors import Forbidden
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, Payment, User
from core.video import policy as video_policy
from core.video import presence
from core.video.policy import JOIN_CLOSES, JOIN_OPENS
from core.video.readiness import latest_test

UPCOMING_LIMIT = 5
WRAP_UP = timedelta(hours=24)  # booked consultations this recent and not completed stay listed
SETTLED = ("succeeded", "partially_refunded")


@dataclass(frozen=True)
class UpcomingItem:
    id: uuid.UUID
    patient_name: str
    patient_user_id: uuid.UUID
    start: datetime
    end: datetime
    status: str
    paid_cents: int  # what is still held of what was paid (card and credit)
    join_open: bool  # in the join window (5 min before → 30 min after the start)
    join_refusal: str | None  # why joining would be refused now (e.g. no device test in 24 h); None = join
    join_opens_at: datetime
    join_closes_at: datetime
    completion_refusal: str | None
    can_cancel: bool
    refund: policy.RefundOutcome | None  # what a doctor's cancellation now would give back
    # The patient in the consultation room (SPEC §16): away | waiting | in_room, since when, and
    # their device test (ready | audio_only | failed | not_tested).
    patient_presence: str = "away"
    patient_since: datetime | None = None
    patient_readiness: str = "not_tested"

    @property
    def can_complete(self) -> bool:
        return self.completion_refusal is None


def join_window_open(status: str, start: datetime, now: datetime) -> bool:
    """SPEC §9/§10: a booked consultation can be joined from 5 minutes before its start until 30
    minutes after it (the video service's rule, `core.video.policy`)."""
    return lifecycle.is_booked(status) and video_policy.in_join_window(now, start)


def doctor_refund_preview(*, status: str, start: datetime, now: datetime, card_cents: int,
                          credit_cents: int) -> policy.RefundOutcome:
    """What the doctor cancelling now gives back (SPEC §5: full refund; + €10 credit when late)."""
    return policy.refund_for_cancellation(actor_role="doctor", now=now, start=start, status=status,
                                          card_cents=card_cents, credit_cents=credit_cents)


def _message(refusal) -> str | None:
    return refusal.message if refusal is not None else None


def _held_cents(payments: list[Payment]) -> tuple[int, int]:
    card = credit = 0
    for p in payments:
        if p.status in SETTLED:
            held = p.amount_cents - p.refunded_cents
            if p.provider == "credit":
                credit += held
            else:
                card += held
    return card, credit


def doctor_upcoming(actor: Actor, *, limit: int = UPCOMING_LIMIT) -> list[UpcomingItem]:
    """The doctor's next consultations with what can be done with each right now."""
    if actor.role != "doctor" or actor.user_id is None:
        raise Forbidden(N_("Only doctors have a consultation list."))
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        doctor_id = session.scalar(select(Doctor.id).where(Doctor.user_id == actor.user_id))
        if doctor_id is None:
            raise Forbidden(N_("This account has no doctor profile."))
        # A cancelled consultation (by anyone, or a hold that ran out) is no longer to come: it
        # would take one of the five places from one that is.
        rows = session.execute(
            select(Appointment, User.full_name, User.id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(User, User.id == Patient.user_id)
            .where(Appointment.doctor_id == doctor_id, Appointment.status != lifecycle.CANCELLED,
                   or_(Appointment.start_at > now - JOIN_CLOSES,
                       and_(Appointment.status.in_(lifecycle.BOOKED), Appointment.start_at > now - WRAP_UP)))
            .order_by(Appointment.start_at)
            .limit(limit)
        ).all()
        tested = latest_test(session, actor.user_id)  # the doctor's own device test (SPEC §10)
        ids = [a.id for a, _, _ in rows]
        payments: dict[uuid.UUID, list[Payment]] = {}
        if ids:
            for p in session.scalars(select(Payment).where(Payment.appointment_id.in_(ids))):
                payments.setdefault(p.appointment_id, []).append(p)
        events = presence.load(session, ids)
        with acting_as_system(uow):
            # The outcome of each listed patient's latest device test (not its numbers): the doctor
            # may know whether their patient is ready; the tests themselves stay the patient's.
            tests = {user_id: latest_test(session, user_id) for _, _, user_id in rows}
        items = []
        for a, name, user_id in rows:
            here = presence.summarise(events.get(a.id, {}).get("patient", []))
            card, credit = _held_cents(payments.get(a.id, []))
            can_cancel = lifecycle.can_transition(a.status, lifecycle.CANCELLED, cancelled_by=a.cancelled_by)
            items.append(UpcomingItem(
                id=a.id, patient_name=name, patient_user_id=user_id, start=a.start_at, end=a.end_at,
                status=a.status, paid_cents=card + credit,
                join_open=join_window_open(a.status, a.start_at, now),
                join_refusal=_message(video_policy.join_refusal(now=now, start=a.start_at, status=a.status,
                                                                latest_test=tested)),
                join_opens_at=a.start_at - JOIN_OPENS, join_closes_at=a.start_at + JOIN_CLOSES,
                completion_refusal=completion_refusal(status=a.status, start=a.start_at, now=now),
                can_cancel=can_cancel,
                refund=doctor_refund_preview(status=a.status, start=a.start_at, now=now, card_cents=card,
                                             credit_cents=credit) if can_cancel else None,
                patient_presence=here.state if join_window_open(a.status, a.start_at, now) or
                now < a.start_at else "away",
                patient_since=here.since, patient_readiness=presence.readiness(tests.get(user_id), now),
            ))
        return items
