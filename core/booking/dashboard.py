"""The patient dashboard's read model (SPEC §9): appointments split into upcoming and past, each
with what the policy allows right now — the same functions the services enforce, so a button is
enabled exactly when the server would accept the change, and the refund is stated before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core import clock, config
from core.actor import Actor
from core.booking import policy
from core.booking.changes import patient_month_reschedules
from core.booking.lifecycle import is_booked
from core.booking.queries import AppointmentView, list_appointments
from core.db import unit_of_work
from core.errors import DomainError
from core.video import policy as video_policy
from core.video.policy import JOIN_CLOSES, JOIN_OPENS  # SPEC §10: join from 5 min before the start to 30 after
from core.video.readiness import latest_test

TEST_PROMPT = timedelta(minutes=10)  # prompt to test devices from 10 min before


@dataclass(frozen=True)
class DashboardItem:
    appointment: AppointmentView
    reschedule_refusal: str | None  # why not, in the patient's words; None = allowed
    cancel_refusal: str | None
    refund: policy.RefundOutcome | None  # what cancelling now gives back (card choice)
    reschedules_left: int
    join_open: bool
    test_prompt: bool
    join_refusal: DomainError | None = None  # why "Join video" is disabled (core.video.policy); None = open

    @property
    def join_opens_at(self) -> datetime:
        return self.appointment.start_at - JOIN_OPENS

    @property
    def can_reschedule(self) -> bool:
        return self.reschedule_refusal is None

    @property
    def can_cancel(self) -> bool:
        return self.cancel_refusal is None


@dataclass(frozen=True)
class Overview:
    upcoming: list[DashboardItem]
    past: list[DashboardItem]
    month_reschedules: int
    monthly_cap: int

    @property
    def shows_monthly_tally(self) -> bool:
        """ "Reschedules this month: n of 5" matters only with a cap and a booked consultation ahead
        that could be moved (issue 24: not on a dashboard with nothing to reschedule)."""
        return bool(self.monthly_cap) and any(is_booked(i.appointment.status) for i in self.upcoming)


ACTIVE = ("pending", "paid", "confirmed")


def cancel_preview(item_appointment: AppointmentView, now: datetime, refund_as: str = "card") -> policy.RefundOutcome:
    """What cancelling now would give back, from what was paid and how."""
    p = item_appointment.payment
    paid = (p.amount_cents - p.refunded_cents) if p and p.status in ("succeeded", "partially_refunded") else 0
    card, credit = (0, paid) if p and p.provider == "credit" else (paid, 0)
    return policy.refund_for_cancellation(actor_role="patient", now=now, start=item_appointment.start_at,
                                          status=item_appointment.status, card_cents=card, credit_cents=credit,
                                          refund_as=refund_as)


def patient_overview(actor: Actor) -> Overview:
    now = clock.now()
    cap = config.current().reschedule_monthly_cap
    with unit_of_work(actor) as uow:
        month = patient_month_reschedules(uow.session, actor, now)
        tested = latest_test(uow.session, actor.user_id) if actor.user_id else None
    upcoming, past = [], []
    for a in list_appointments(actor, limit=500):
        active = a.status in ACTIVE and a.end_at + JOIN_CLOSES > now
        if a.status == "pending" and (a.hold_expires_at is None or a.hold_expires_at <= now):
            active = False  # an unpaid hold that ran out
        if not active:
            past.append(DashboardItem(a, "Past", "Past", None, 0, False, False))
            continue
        reschedule = policy.reschedule_refusal(actor_role="patient", now=now, start=a.start_at,
                                               reschedule_count=a.reschedule_count, month_count=month,
                                               monthly_cap=cap) if is_booked(a.status) else None
        cancel = policy.cancel_refusal(actor_role="patient", now=now, start=a.start_at, status=a.status,
                                       reason=None)
        upcoming.append(DashboardItem(
            a,
            reschedule_refusal=(reschedule.message if reschedule else None) if is_booked(a.status)
            else "Pay first to keep this time",
            cancel_refusal=cancel.message if cancel else None,
            refund=None if cancel else cancel_preview(a, now),
            reschedules_left=max(0, policy.MAX_RESCHEDULES - a.reschedule_count),
            join_open=is_booked(a.status) and video_policy.in_join_window(now, a.start_at),
            test_prompt=is_booked(a.status) and a.start_at - TEST_PROMPT <= now <= a.start_at + JOIN_CLOSES,
            join_refusal=video_policy.join_refusal(now=now, start=a.start_at, status=a.status, latest_test=tested),
        ))
    past.reverse()  # most recent first
    return Overview(upcoming, past, month, cap)
