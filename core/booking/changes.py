"""Reschedule, cancel and the change history of an appointment (SPEC §5).

Each change is one unit of work for the actor: the appointment's new state, its
`appointment_changes` row, its `audit_events` row and the money (refund recorded on the payment,
credits in the ledger, the gateway refund deferred until after the commit) are written together or
not at all. Who may change what is checked here (a patient their own appointments, a doctor
theirs, an admin all) and again by row-level security, which hides other people's appointments
(they read as not found). The rules themselves are `core.booking.policy` and
`core.booking.lifecycle`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, text, update
from sqlalchemy.orm import Session

from core import clock, config
from core.actor import Actor
from core.audit import record_audit
from core.booking import lifecycle, policy
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import Forbidden, NotFound, SlotConflict, ValidationFailed
from core.i18n import N_
from core.models import Appointment, AppointmentChange, CreditEntry, Doctor, Patient, Payment, Slot, User
from core.payments import credits
from core.payments.refunds import paid_payment, record_refund
from core.scheduling.calendars import load_calendars
from core.scheduling.engine import Availability
from core.scheduling.holds import lock_doctor

MAX_REASON = 1000
@dataclass(frozen=True)
class AppointmentState:
    id: uuid.UUID
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    slot_id: uuid.UUID | None
    start: datetime
    end: datetime
    status: str
    reschedule_count: int
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class Cancellation:
    appointment: AppointmentState
    refund: policy.RefundOutcome  # what was actually recorded


@dataclass(frozen=True)
class Change:
    id: uuid.UUID
    appointment_id: uuid.UUID
    action: str
    actor_role: str
    actor_id: uuid.UUID | None
    reason: str | None
    before: dict | None
    after: dict | None
    created_at: datetime


def reschedule(actor: Actor, appointment_id: uuid.UUID, new_start: datetime | None = None,
               new_slot_id: uuid.UUID | None = None, *, reason: str | None = None,
               monthly_cap: int | None = None) -> AppointmentState:
    """Move a booked appointment to a new time (SPEC §5): ≥ 60 min before its start, at most twice,
    at most `RESCHEDULE_MONTHLY_CAP` per patient and month; the new time must be one the engine
    offers (SPEC §3: notice, ±45 min buffer, holds, the doctor's slots), the appointment's own
    current time excepted, so moving 14:00 → 14:30 works when nothing else is near.

    The new time is taken under the doctor's advisory lock (the same lock as holds, bookings and the
    double-booking trigger), so two reschedules racing for one time give one winner and one
    ERR_SLOT_CONFLICT; the trigger stays the last guard (23P01 → 409)."""
    _require_party(actor)
    if (new_start is None) == (new_slot_id is None):
        raise ValidationFailed(N_("Give either newSlotId or newStart."))
    reason = _clean_reason(reason)
    cap = config.current().reschedule_monthly_cap if monthly_cap is None else monthly_cap
    with unit_of_work(actor) as uow:
        session = uow.session
        peek = _visible(session, appointment_id)
        if actor.role == "patient" and cap > 0:  # one patient's reschedules take turns: the cap holds under races
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                            {"k": f"doktu:reschedules:{actor.user_id}"})
        lock_doctor(session, peek.doctor_id)  # doctor first, then the row: the order bookers use
        appointment = _locked(session, appointment_id)
        patient_user_id = _check_party(session, actor, appointment)
        now = clock.now()
        lifecycle.require_reschedulable(appointment)
        month_count = patient_month_reschedules(session, actor, now) if actor.role == "patient" and cap else 0
        policy.check_reschedule(actor_role=actor.role, now=now, start=appointment.start_at,
                                reschedule_count=appointment.reschedule_count,
                                month_count=month_count, monthly_cap=cap)
        if new_slot_id is not None:
            slot = session.get(Slot, new_slot_id)
            if slot is None or slot.doctor_id != appointment.doctor_id:
                raise NotFound(N_("No such slot with this doctor."))
            new_start = slot.start_at
        policy.check_new_start(now=now, start=appointment.start_at, new_start=new_start)
        offered = _offered(session, actor, appointment, new_start, now, patient_user_id)
        slot_id = new_slot_id or offered.slot_id or session.scalar(
            select(Slot.id).where(Slot.doctor_id == appointment.doctor_id, Slot.start_at == new_start,
                                  Slot.is_available))
        uow.holds_freed(_release_holds(session, [appointment.slot_id, slot_id], patient_user_id))
        before, before_start = _snapshot(appointment), appointment.start_at
        appointment.start_at, appointment.end_at, appointment.slot_id = new_start, offered.end, slot_id
        appointment.reschedule_count += 1
        appointment.updated_at = now
        session.flush()  # the double-booking trigger runs here: the last guard
        after = _snapshot(appointment)
        _record(uow, actor, appointment, "reschedule", reason, before, after, now, details={})
        uow.defer("jobs.notify.appointment_event", "rescheduled", str(appointment.id), appointment.reschedule_count)
        _owe_waitlist(uow, appointment.doctor_id, before_start)
        return _state(appointment)


def cancel(actor: Actor, appointment_id: uuid.UUID, reason: str | None = None, refund_as: str = "card",
           *, also: Callable[[UnitOfWork, Appointment], object] | None = None) -> Cancellation:
    """Cancel an appointment (SPEC §5): a patient ≥ 60 min before the start (their unpaid hold any
    time), a doctor any time with a reason, an admin any time; refund per `policy`. The refund is
    recorded on the payment here and paid back by the gateway after the commit; credits go to the
    ledger in the same transaction. `also` writes what the caller owes with the cancellation, in
    its transaction (the room's settlement records its outcome so)."""
    _require_party(actor)
    reason = _clean_reason(reason)
    if refund_as not in policy.REFUND_CHOICES:
        raise ValidationFailed(N_("refundAs must be 'card' or 'credit'."))
    with unit_of_work(actor) as uow:
        session = uow.session
        _visible(session, appointment_id)
        appointment = _locked(session, appointment_id)
        patient_user_id = _check_party(session, actor, appointment)
        now = clock.now()
        lifecycle.check_transition(appointment, lifecycle.CANCELLED)  # before the time rules: says more
        policy.check_cancel(actor_role=actor.role, now=now, start=appointment.start_at,
                            status=appointment.status, reason=reason)
        with acting_as_system(uow):  # payments and credits are not writable by patients or doctors
            card, credit_payment = paid_payment(session, appointment.id), _credit_payment(session, appointment.id)
            card_cents = card.amount_cents - card.refunded_cents if card else 0
            credit_cents = _credit_paid(session, appointment.id, credit_payment)
        decided = policy.refund_for_cancellation(
            actor_role=actor.role, now=now, start=appointment.start_at, status=appointment.status,
            card_cents=card_cents, credit_cents=credit_cents, refund_as=refund_as)
        before = _snapshot(appointment)
        lifecycle.transition(appointment, lifecycle.CANCELLED)
        appointment.cancelled_by, appointment.cancel_reason = actor.role, reason
        appointment.cancelled_at = appointment.updated_at = now
        uow.holds_freed(_release_holds(session, [appointment.slot_id], patient_user_id))
        with acting_as_system(uow):
            refund = _pay_back(uow, decided, appointment, patient_user_id, card, credit_payment)
        after = _snapshot(appointment)
        _record(uow, actor, appointment, "cancel", reason, before, after, now, details={"refund": {
            "refundAs": refund.refund_as, "refundCents": refund.refund_cents,
            "creditCents": refund.credit_cents, "lateCreditCents": refund.late_credit_cents}})
        if also is not None:
            also(uow, appointment)
        uow.defer("jobs.notify.appointment_event", "cancelled", str(appointment.id), appointment.reschedule_count)
        _owe_waitlist(uow, appointment.doctor_id, appointment.start_at)
        return Cancellation(_state(appointment), refund)


EXTERNAL_REFUND_REASON = "The payment was refunded in full outside Doktu."


def cancel_after_external_refund(uow: UnitOfWork, appointment_id: uuid.UUID, refunded_cents: int) -> bool:
    """A full refund made outside Doktu (Stripe's dashboard) cancels the consultation it paid for
    (issue 23; SPEC §5 "admin → full refund"): cancelled by `admin` — staff refunded it — with its
    change row, audit row and the cancellation notice, in the webhook's transaction (system
    actor). Nothing is paid back here: the money has already gone back. Returns whether the
    appointment was cancelled (a past or already cancelled one is left as it is)."""
    appointment = _locked(uow.session, appointment_id)
    if not lifecycle.can_transition(appointment.status, lifecycle.CANCELLED) or appointment.status == "pending":
        return False
    now = clock.now()
    patient_user_id = uow.session.scalar(select(Patient.user_id).where(Patient.id == appointment.patient_id))
    before = _snapshot(appointment)
    lifecycle.transition(appointment, lifecycle.CANCELLED)
    appointment.cancelled_by, appointment.cancel_reason = "admin", EXTERNAL_REFUND_REASON
    appointment.cancelled_at = appointment.updated_at = now
    _release_holds(uow.session, [appointment.slot_id], patient_user_id)
    after = _snapshot(appointment)
    staff = Actor(None, "admin")
    _record(uow, staff, appointment, "cancel", EXTERNAL_REFUND_REASON, before, after, now, details={
        "via": "stripe", "refund": {"refundAs": "card", "refundCents": refunded_cents, "creditCents": 0,
                                    "lateCreditCents": 0}})
    uow.defer("jobs.notify.appointment_event", "cancelled", str(appointment.id), appointment.reschedule_count)
    _owe_waitlist(uow, appointment.doctor_id, appointment.start_at)
    return True


def history(actor: Actor, appointment_id: uuid.UUID) -> list[Change]:
    """The appointment's reschedules and cancellation, oldest first (SPEC §5 `history`)."""
    _require_party(actor)
    with unit_of_work(actor) as uow:
        session = uow.session
        appointment = _visible(session, appointment_id)
        _check_party(session, actor, appointment)
        # Same instant (a frozen clock, one transaction) still sorts right: each reschedule raises
        # the count and a cancellation is always last.
        rows = session.scalars(
            select(AppointmentChange).where(AppointmentChange.appointment_id == appointment_id)
            .order_by(AppointmentChange.created_at, AppointmentChange.after["rescheduleCount"].as_integer(),
                      case((AppointmentChange.action == "cancel", 1), else_=0))
        ).all()
        return [Change(r.id, r.appointment_id, r.action, r.actor_role, r.actor_id, r.reason, r.before, r.after,
                       r.created_at) for r in rows]


# --- the steps -----------------------------------------------------------------------------------

def _owe_waitlist(uow: UnitOfWork, doctor_id: uuid.UUID, freed_start: datetime) -> None:
    """The time an appointment leaves is offered to the doctor's waitlist (SPEC §17), owed here."""
    from core.booking import waitlist  # waitlist builds on this module

    waitlist.owe_offers(uow, doctor_id, [freed_start])


def _require_party(actor: Actor) -> None:
    if actor.role not in policy.ROLES or actor.user_id is None:
        raise Forbidden(N_("Only the patient, their doctor or an admin can change an appointment."))


def _clean_reason(reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ValidationFailed(f"The reason can be at most {MAX_REASON} characters.")
    return reason


def _visible(session: Session, appointment_id: uuid.UUID) -> Appointment:
    """The appointment if the actor may see it (row-level security), else ERR_NOT_FOUND."""
    found = session.get(Appointment, appointment_id)
    if found is None:
        raise NotFound(N_("No such appointment."))
    return found


def _locked(session: Session, appointment_id: uuid.UUID) -> Appointment:
    found = session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update()
                           .execution_options(populate_existing=True))
    if found is None:
        raise NotFound(N_("No such appointment."))
    return found


def _check_party(session: Session, actor: Actor, appointment: Appointment) -> uuid.UUID:
    """A patient changes their own appointments, a doctor theirs, an admin any. Returns the
    patient's user id. (RLS already hides the rest; this holds even where it would not.)"""
    patient_user_id = session.scalar(select(Patient.user_id).where(Patient.id == appointment.patient_id))
    if actor.role == "patient":
        allowed = patient_user_id == actor.user_id
    elif actor.role == "doctor":
        allowed = session.scalar(select(Doctor.user_id).where(Doctor.id == appointment.doctor_id)) == actor.user_id
    else:
        allowed = actor.role == "admin"
    if not allowed or patient_user_id is None:
        raise Forbidden(N_("This is not your appointment."))
    return patient_user_id


def patient_month_reschedules(session: Session, actor: Actor, now: datetime) -> int:
    """Reschedules this patient made in the current calendar month of their time zone."""
    zone = session.scalar(select(User.timezone).where(User.id == actor.user_id)) or "Europe/Paris"
    start, end = policy.month_bounds(now, ZoneInfo(zone))
    return session.scalar(select(func.count()).select_from(AppointmentChange).where(
        AppointmentChange.action == "reschedule", AppointmentChange.actor_role == "patient",
        # An earlier time taken from the waitlist is a free move (SPEC §17): not counted.
        func.coalesce(AppointmentChange.after["viaWaitlist"].as_boolean(), False).is_(False),
        AppointmentChange.actor_id == actor.user_id,
        AppointmentChange.created_at >= start, AppointmentChange.created_at < end))


def _offered(session: Session, actor: Actor, appointment: Appointment, new_start: datetime, now: datetime,
             patient_user_id: uuid.UUID) -> Availability:
    """Ask the availability engine about `new_start`, as the patient would see it (their own holds
    do not block them) and without the appointment itself, which is about to leave its time."""
    just_this = new_start + timedelta(seconds=1)
    calendar = load_calendars(session, [appointment.doctor_id], new_start, just_this, now).get(appointment.doctor_id)
    if calendar is None:
        raise NotFound(N_("No such doctor."))
    calendar.appointment_starts = [s for s in calendar.appointment_starts if s != appointment.start_at]
    if actor.role in ("doctor", "admin"):
        calendar.online = True  # Offline stops new bookings by patients, not the doctor's own moves
    offered = next((a for a in calendar.availability(new_start, just_this, now, patient_user_id, rhythm=False)
                    if a.start == new_start and a.is_available), None)
    if offered is None:
        raise SlotConflict(N_("This time is not available. Please pick another."))
    return offered


def _release_holds(session: Session, slot_ids: list[uuid.UUID | None], holder: uuid.UUID) -> list[uuid.UUID]:
    """Give back the patient's holds on these slots: the old time once moved (or cancelled), the
    new one once booked."""
    ids = [s for s in dict.fromkeys(slot_ids) if s is not None]
    if not ids:
        return []
    return list(session.scalars(update(Slot).where(Slot.id.in_(ids), Slot.locked_by == holder)
                                .values(locked_by=None, locked_until=None).returning(Slot.id)))


def _credit_payment(session: Session, appointment_id: uuid.UUID) -> Payment | None:
    return session.scalar(select(Payment).where(
        Payment.appointment_id == appointment_id, Payment.provider == "credit",
        Payment.status.in_(("succeeded", "partially_refunded"))).with_for_update())


def _credit_paid(session: Session, appointment_id: uuid.UUID, payment: Payment | None) -> int:
    """Credit spent on the appointment and not yet given back."""
    if payment is not None:
        return payment.amount_cents - payment.refunded_cents
    net = session.scalar(select(func.coalesce(func.sum(CreditEntry.amount_cents), 0)).where(
        CreditEntry.appointment_id == appointment_id, CreditEntry.kind.in_(("spend", "refund_credit"))))
    return max(0, -net)


def _pay_back(uow: UnitOfWork, decided: policy.RefundOutcome, appointment: Appointment, patient_user_id: uuid.UUID,
              card: Payment | None, credit_payment: Payment | None) -> policy.RefundOutcome:
    """Record what `decided` gives back; returns what was actually recorded."""
    session = uow.session
    refunded = 0
    if decided.refund_cents and card is not None:
        refunded = record_refund(uow, card, decided.refund_cents,
                                 reason=f"appointment cancelled by the {appointment.cancelled_by}")
    credited = 0
    if decided.credit_cents:
        # Credit paid with credit comes back as credit (the payment is refunded to the ledger); a card
        # payment the patient takes as credit stays paid: the money became credit, not a card refund.
        if credit_payment is not None:
            credit_payment.refunded_cents += min(decided.credit_cents,
                                                 credit_payment.amount_cents - credit_payment.refunded_cents)
            credit_payment.status = ("refunded" if credit_payment.refunded_cents == credit_payment.amount_cents
                                     else "partially_refunded")
            credit_payment.updated_at = clock.now()
        linked = credit_payment or card
        credits.add_entry(session, patient_user_id, "refund_credit", decided.credit_cents,
                          appointment_id=appointment.id, payment_id=linked.id if linked else None,
                          note=f"Appointment cancelled by the {appointment.cancelled_by}")
        credited = decided.credit_cents
    if decided.late_credit_cents:
        credits.add_entry(session, patient_user_id, "late_credit", decided.late_credit_cents,
                          appointment_id=appointment.id, note="The doctor cancelled less than 60 minutes before")
    if refunded == credited == decided.late_credit_cents == 0:
        return policy.NO_REFUND
    return policy.RefundOutcome("card" if refunded else "credit" if credited else "none", refunded, credited,
                                decided.late_credit_cents)


def _snapshot(appointment: Appointment) -> dict:
    return {"start": appointment.start_at.isoformat(), "end": appointment.end_at.isoformat(),
            "status": appointment.status, "rescheduleCount": appointment.reschedule_count}


def _record(uow: UnitOfWork, actor: Actor, appointment: Appointment, action: str, reason: str | None,
            before: dict, after: dict, now: datetime, *, details: dict) -> None:
    """The change row and the audit row, in the change's own transaction, as the actor (RLS checks
    that the actor may write them)."""
    uow.session.add(AppointmentChange(appointment_id=appointment.id, action=action, actor_role=actor.role,
                                      actor_id=actor.user_id, reason=reason, before=before, after=after,
                                      created_at=now))
    uow.session.flush()
    # Plain SQL without RETURNING: the actor may append to the audit trail, only staff read it back.
    record_audit(uow.session, actor, action=f"appointment.{'rescheduled' if action == 'reschedule' else 'cancelled'}",
                 subject_type="appointment", subject_id=str(appointment.id), at=now,
                 details={"before": before, "after": after, "reason": reason, **details})


def _state(a: Appointment) -> AppointmentState:
    return AppointmentState(a.id, a.doctor_id, a.patient_id, a.slot_id, a.start_at, a.end_at, a.status,
                            a.reschedule_count, a.cancelled_by, a.cancel_reason, a.cancelled_at)
