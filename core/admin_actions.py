"""What an admin can do from the console (SPEC §22 "Actions"), designed once.

Every action is a plain function `(actor, subject_id, reason, amount_cents) -> Outcome` in the
registry `ACTIONS`, reached through `perform`, which checks the role (admins only) and the reason
(required: it is kept in the audit trail) before anything else. Each action goes through the same
core service as everywhere else (a cancellation is `core.booking.changes.cancel`, a refund
`core.payments.refunds.record_refund`, a doctor's approval `core.doctors.onboarding`, a review's
`core.ratings.reviews`) and writes one `audit_events` row with the reason in the service's own
transaction, so the trail holds exactly what happened. Admins never see medical content: the
actions read statuses, times and amounts only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text

from core import clock
from core.actor import Actor
from core.audit import record_audit
from core.booking import changes, lifecycle
from core.db import acting_as_system, unit_of_work
from core.doctors import onboarding
from core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from core.i18n import N_
from core.models import Appointment
from core.notify.appointments import resend_notice as queue_notice_again
from core.payments.refunds import paid_payment, record_refund
from core.ratings import reviews

MAX_REASON = 1000


@dataclass(frozen=True)
class Outcome:
    action: str
    subject_id: str
    message: str  # what happened, for the admin (English; the console words its own)
    amount_cents: int | None = None


@dataclass(frozen=True)
class Action:
    key: str
    subject: str  # appointment | doctor | review
    label: str
    run: Callable[[Actor, uuid.UUID, str, int | None], Outcome]
    takes_amount: bool = False


def clean_reason(reason: str | None) -> str:
    value = " ".join((reason or "").split())
    if not value:
        raise ValidationFailed(N_("Give a reason: it is kept in the audit trail."), details={"field": "reason"})
    if len(value) > MAX_REASON:
        raise ValidationFailed(N_("The reason can be at most %(count)d characters."), params={"count": MAX_REASON},
                               details={"field": "reason"})
    return value


def require_admin(actor: Actor) -> None:
    if actor.role != "admin" or actor.user_id is None:
        raise Forbidden(N_("Only an admin can do this."))


def perform(actor: Actor, key: str, subject_id: uuid.UUID | str, reason: str | None, *,
            amount_cents: int | None = None) -> Outcome:
    """Run the admin action `key` on `subject_id` with a required reason (and an amount in cents
    for a partial refund)."""
    require_admin(actor)
    action = ACTIONS.get(key)
    if action is None:
        raise ValidationFailed(f"No action called {key!r}.", details={"field": "action"})
    try:
        subject = subject_id if isinstance(subject_id, uuid.UUID) else uuid.UUID(str(subject_id))
    except ValueError as exc:
        raise NotFound(N_("No such item.")) from exc
    if amount_cents is not None and not action.takes_amount:
        raise ValidationFailed(N_("This action takes no amount."), details={"field": "amount"})
    return action.run(actor, subject, clean_reason(reason), amount_cents)


def _locked_appointment(session, appointment_id: uuid.UUID) -> Appointment:
    found = session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update()
                           .execution_options(populate_existing=True))
    if found is None:
        raise NotFound(N_("No such appointment."))
    return found


def _audit(session, actor: Actor, action: str, appointment_id: uuid.UUID, reason: str, **details) -> None:
    record_audit(session, actor, action=f"admin.{action}", subject_type="appointment",
                 subject_id=str(appointment_id), at=clock.now(), details={"reason": reason, **details})


def refund(actor: Actor, appointment_id: uuid.UUID, reason: str, amount_cents: int | None) -> Outcome:
    """Give back card money of an appointment: all that is left of its payment (no amount), or part
    of it. Recorded on the payment now (with its credit note), paid back by the gateway after the
    commit (owed until it is). The appointment itself is not changed: cancel it to free the time."""
    with unit_of_work(actor) as uow:
        appointment = _locked_appointment(uow.session, appointment_id)
        with acting_as_system(uow):
            card = paid_payment(uow.session, appointment.id)
            if card is None:
                raise InvalidTransition(N_("No card payment of this appointment is left to refund."))
            left = card.amount_cents - card.refunded_cents
            wanted = left if amount_cents is None else amount_cents
            if wanted < 1 or wanted > left:
                raise ValidationFailed(N_("The amount must be between 1 and %(left)d cents."), params={"left": left},
                                       details={"field": "amount"})
            done = record_refund(uow, card, wanted, reason=f"refunded by an admin: {reason}")
        _audit(uow.session, actor, "refund", appointment.id, reason, paymentId=str(card.id), refundCents=done,
               full=done == left)
    return Outcome("refund", str(appointment_id), f"Refunded €{done / 100:.2f}.", done)


def cancel_for_doctor(actor: Actor, appointment_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    """Cancel a booked consultation on the doctor's behalf (they cannot make it): the patient is
    refunded in full and told, as with any admin cancellation (SPEC §5)."""
    def audit(uow, appointment):
        _audit(uow.session, actor, "cancel_for_doctor", appointment.id, reason)

    done = changes.cancel(actor, appointment_id, reason, also=audit)
    return Outcome("cancel_for_doctor", str(appointment_id),
                   f"Cancelled; €{done.refund.refund_cents / 100:.2f} refunded.", done.refund.refund_cents)


def mark_no_show(actor: Actor, appointment_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    """The patient did not come: a booked consultation that has started becomes a no-show (no
    refund, SPEC §5). The room's settlement does this by itself after the window; this is for
    what it cannot see (a consultation held by phone, say)."""
    with unit_of_work(actor) as uow:
        appointment = _locked_appointment(uow.session, appointment_id)
        lifecycle.check_transition(appointment, lifecycle.NO_SHOW)
        if appointment.start_at > clock.now():
            raise InvalidTransition(N_("This consultation has not started yet."))
        before = appointment.status
        lifecycle.transition(appointment, lifecycle.NO_SHOW)
        appointment.updated_at = clock.now()
        _audit(uow.session, actor, "mark_no_show", appointment.id, reason, before=before)
    return Outcome("mark_no_show", str(appointment_id), "Marked as a no-show.")


def undo_no_show(actor: Actor, appointment_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    """The consultation did take place: a no-show becomes completed (the staff correction of
    `lifecycle.CORRECTIONS`)."""
    with unit_of_work(actor) as uow:
        appointment = _locked_appointment(uow.session, appointment_id)
        lifecycle.correct(appointment, lifecycle.COMPLETED)
        appointment.completed_at = appointment.updated_at = clock.now()
        _audit(uow.session, actor, "undo_no_show", appointment.id, reason, before=lifecycle.NO_SHOW)
    return Outcome("undo_no_show", str(appointment_id), "No-show undone: the consultation counts as completed.")


def resend_notice(actor: Actor, appointment_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    """Send the patient their current notice again: the confirmation (with its calendar invite)
    while booked, the cancellation once cancelled."""
    with unit_of_work(actor) as uow:
        appointment = _locked_appointment(uow.session, appointment_id)
        with acting_as_system(uow):  # the outbox is staff-only
            queued = queue_notice_again(uow, appointment.id, uuid.uuid4().hex[:12])
        if not queued:
            raise InvalidTransition(N_("There is no notice to send for this appointment now."))
        _audit(uow.session, actor, "resend_notice", appointment.id, reason, messages=queued)
    return Outcome("resend_notice", str(appointment_id), "The notice is on its way again.")


def approve_doctor(actor: Actor, doctor_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    onboarding.approve_doctor(actor, doctor_id, reason)
    return Outcome("approve_doctor", str(doctor_id), "Doctor approved: listed and bookable.")


def suspend_doctor(actor: Actor, doctor_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    """Suspend a doctor; their future consultations are cancelled and refunded (SPEC §19)."""
    count = onboarding.suspension_impact(actor, doctor_id)
    cancelled = onboarding.suspend_doctor(actor, doctor_id, reason, confirmed_count=count)
    return Outcome("suspend_doctor", str(doctor_id), f"Doctor suspended; {cancelled} consultations cancelled.")


def approve_review(actor: Actor, rating_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    reviews.moderate_review(actor, rating_id, approve=True, reason=reason)
    return Outcome("approve_review", str(rating_id), "Review published.")


def hide_review(actor: Actor, rating_id: uuid.UUID, reason: str, _amount: int | None) -> Outcome:
    reviews.moderate_review(actor, rating_id, approve=False, reason=reason)
    return Outcome("hide_review", str(rating_id), "Review hidden.")


ACTIONS: dict[str, Action] = {a.key: a for a in (
    Action("refund", "appointment", "Refund", refund, takes_amount=True),
    Action("cancel_for_doctor", "appointment", "Cancel for the doctor", cancel_for_doctor),
    Action("mark_no_show", "appointment", "Mark no-show", mark_no_show),
    Action("undo_no_show", "appointment", "Undo no-show", undo_no_show),
    Action("resend_notice", "appointment", "Resend the notice", resend_notice),
    Action("approve_doctor", "doctor", "Approve the doctor", approve_doctor),
    Action("suspend_doctor", "doctor", "Suspend the doctor", suspend_doctor),
    Action("approve_review", "review", "Publish the review", approve_review),
    Action("hide_review", "review", "Hide the review", hide_review),
)}


def available(status: str, started: bool, card_left_cents: int) -> list[str]:
    """The appointment actions that make sense for an appointment in this state (the console shows
    only these; `perform` checks again)."""
    keys = []
    if card_left_cents > 0:
        keys.append("refund")
    if status in lifecycle.BOOKED:
        keys += ["cancel_for_doctor", "resend_notice"] + (["mark_no_show"] if started else [])
    if status == lifecycle.NO_SHOW:
        keys.append("undo_no_show")
    if status == lifecycle.CANCELLED:
        keys.append("resend_notice")
    return keys


@dataclass(frozen=True)
class AuditLine:
    at: object  # datetime
    action: str
    actor_role: str
    reason: str | None


@dataclass(frozen=True)
class AppointmentFacts:
    """What the console shows next to an appointment's actions: who, when, its state and money,
    which actions apply, and what was done to it (the audit trail). No medical content."""

    id: uuid.UUID
    doctor: str
    patient: str
    start_at: object  # datetime
    status: str
    paid_cents: int
    refunded_cents: int
    provider: str | None
    actions: list[str]
    audit: list[AuditLine]


_FACTS = """
SELECT a.id, d.display_name AS doctor, u.full_name AS patient, a.start_at, a.status,
       p.amount_cents AS paid_cents, p.refunded_cents, p.provider
  FROM appointments a JOIN doctors d ON d.id = a.doctor_id JOIN patients pt ON pt.id = a.patient_id
  JOIN users u ON u.id = pt.user_id
  LEFT JOIN LATERAL (SELECT amount_cents, refunded_cents, provider FROM payments
                      WHERE appointment_id = a.id AND status IN ('succeeded', 'partially_refunded', 'refunded')
                      ORDER BY created_at DESC LIMIT 1) p ON true
 WHERE a.id = :id
"""
_TRAIL = """
SELECT occurred_at, action, actor_role, details->>'reason' AS reason FROM audit_events
 WHERE subject_type = 'appointment' AND subject_id = :id ORDER BY occurred_at DESC, id DESC LIMIT 20
"""


def appointment_facts(actor: Actor, appointment_id: uuid.UUID | str) -> AppointmentFacts:
    require_admin(actor)
    try:
        key = appointment_id if isinstance(appointment_id, uuid.UUID) else uuid.UUID(str(appointment_id))
    except ValueError as exc:
        raise NotFound(N_("No such appointment.")) from exc
    with unit_of_work(actor) as uow:
        row = uow.session.execute(text(_FACTS), {"id": key}).mappings().first()
        if row is None:
            raise NotFound(N_("No such appointment."))
        trail = [AuditLine(r.occurred_at, r.action, r.actor_role, r.reason)
                 for r in uow.session.execute(text(_TRAIL), {"id": str(key)})]
    paid, refunded = int(row["paid_cents"] or 0), int(row["refunded_cents"] or 0)
    card_left = paid - refunded if row["provider"] in ("stripe", "local") else 0
    return AppointmentFacts(row["id"], row["doctor"], row["patient"], row["start_at"], row["status"], paid, refunded,
                            row["provider"], available(row["status"], row["start_at"] <= clock.now(), card_left),
                            trail)
