"""Paying for a held appointment (SPEC §8): open a checkout session for a pending appointment,
pay it with credit, and confirm it when the verified payment arrives (webhooks call `confirm_paid`).

A hold converts into a paid appointment only here: through a verified payment or a credit spend,
in the same transaction as the payment row.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from core import clock, config, funnel
from core.accounts.profile import require_complete_profile
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.booking.lifecycle import can_transition
from core.db import UnitOfWork, unit_of_work
from core.documents.receipts import issue_receipt
from core.errors import Forbidden, NotFound, SlotConflict
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, Payment, Slot, User
from core.payments import credits
from core.payments.gateway import current_gateway
from core.payments.refunds import record_refund
from core.scheduling.holds import lock_doctor
from core.walkin import queue as walkin_queue

log = logging.getLogger(__name__)
PAYABLE = ("pending", "failed")  # a declined attempt can be retried on the same session


@dataclass(frozen=True)
class Checkout:
    appointment_id: uuid.UUID
    session_id: str
    url: str


def _pending_appointment(uow: UnitOfWork, payer: Actor, appointment_id: uuid.UUID) -> Appointment:
    """The payer's own held appointment, locked. Checked here, not only by RLS, because confirming
    a credit payment runs as the system."""
    if payer.role != "patient" or payer.user_id is None:
        raise Forbidden(N_("Only the patient pays for their appointment."))
    appointment = uow.session.scalar(
        select(Appointment).join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.id == appointment_id, Patient.user_id == payer.user_id).with_for_update())
    if appointment is None:
        raise NotFound(N_("No such appointment."))
    if appointment.status != "pending" or appointment.hold_expires_at is None \
            or appointment.hold_expires_at <= clock.now():
        raise SlotConflict(N_("This time is no longer held for you. Please choose a time again."))
    return appointment


def start_payment(actor: Actor, appointment_id: uuid.UUID) -> Checkout:
    """The checkout session of a held appointment (the same one on every call while it is open).
    ERR_PROFILE_INCOMPLETE before the health profile is saved (SPEC §6)."""
    require_complete_profile(actor)
    settings = config.current()
    with unit_of_work(actor) as uow:
        appointment = _pending_appointment(uow, actor, appointment_id)
        open_payment = uow.session.scalar(select(Payment).where(
            Payment.appointment_id == appointment.id, Payment.status.in_(PAYABLE),
            Payment.provider_session_id.is_not(None)).order_by(Payment.created_at.desc()).limit(1))
        if open_payment is not None:
            return Checkout(appointment.id, open_payment.provider_session_id,
                            current_gateway().session_url(open_payment.provider_session_id))
        doctor_name = uow.session.scalar(select(Doctor.display_name).where(Doctor.id == appointment.doctor_id))
        email = uow.session.scalar(select(User.email).where(User.id == actor.user_id))
        # The patient may only insert a pending payment (RLS), so its id and session come first.
        payment_id, gateway, base = uuid.uuid4(), current_gateway(), settings.public_base_url
        session = gateway.create_checkout_session(
            amount_cents=appointment.price_cents, currency=appointment.currency,
            description=f"Video consultation with {doctor_name} (30 min)", customer_email=email,
            success_url=f"{base}/checkout/{appointment.id}/done?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/checkout/{appointment.id}",
            metadata={"appointment_id": str(appointment.id), "payment_id": str(payment_id)},
            idempotency_key=f"checkout:{payment_id}")
        uow.session.add(Payment(id=payment_id, user_id=actor.user_id, appointment_id=appointment.id, kind="visit",
                                provider=gateway.name, provider_session_id=session.id,
                                amount_cents=appointment.price_cents, currency=appointment.currency,
                                status="pending", created_at=clock.now(), updated_at=clock.now()))
        funnel.record(uow.session, "checkout_started", user_id=actor.user_id, doctor_id=appointment.doctor_id,
                      appointment_id=appointment.id)
        return Checkout(appointment.id, session.id, session.url)


def pay_with_credit(actor: Actor, appointment_id: uuid.UUID) -> None:
    """Spend credit for the whole price; two checkouts racing for the last credit: one wins, the
    other gets ERR_PAYMENT_FAILED (the ledger's per-user lock and its never-negative check)."""
    require_complete_profile(actor)
    # One transaction as the system (a patient may not mark a payment succeeded under RLS), with
    # the ownership checked explicitly by _pending_appointment.
    with unit_of_work(SYSTEM) as uow:
        appointment = _pending_appointment(uow, actor, appointment_id)
        payment = Payment(user_id=actor.user_id, appointment_id=appointment.id, kind="visit", provider="credit",
                          amount_cents=appointment.price_cents, currency=appointment.currency, status="pending",
                          created_at=clock.now(), updated_at=clock.now())
        uow.session.add(payment)
        uow.session.flush()
        close_card_sessions(uow, appointment.id)
        funnel.record(uow.session, "checkout_started", user_id=actor.user_id, doctor_id=appointment.doctor_id,
                      appointment_id=appointment.id)
        credits.add_entry(uow.session, actor.user_id, "spend", -appointment.price_cents,
                          appointment_id=appointment.id, payment_id=payment.id, note="Consultation paid with credit")
        confirm_paid(uow, payment, provider_payment_id=None)


def close_card_sessions(uow: UnitOfWork, appointment_id: uuid.UUID) -> int:
    """Paid by one means, close the other (issue 23): the appointment's open card checkouts are
    cancelled here and expired at the gateway after the commit (owed), so the patient cannot pay
    them too. One that is paid all the same (Stripe completed it before the expiry) is refunded
    by `confirm_paid`. System actor (payments are staff-writable only)."""
    open_payments = uow.session.scalars(select(Payment).where(
        Payment.appointment_id == appointment_id, Payment.status.in_(PAYABLE), Payment.provider != "credit",
        Payment.provider_session_id.is_not(None)).with_for_update()).all()
    for open_payment in open_payments:
        open_payment.status, open_payment.updated_at = "cancelled", clock.now()
        uow.defer_once(f"expire:{open_payment.provider_session_id}", "core.payments.checkout.expire_checkout_session",
                       open_payment.provider_session_id)
    return len(open_payments)


def expire_checkout_session(session_id: str) -> None:
    """Task: close a checkout session at the gateway (Stripe's `checkout.Session.expire`; the local
    page refuses a cancelled session by itself). Safe to repeat."""
    current_gateway().expire_session(session_id)


def confirm_paid(uow: UnitOfWork, payment: Payment, *, provider_payment_id: str | None) -> str:
    """The verified payment arrived (system actor): payment succeeded and appointment confirmed in
    one transaction. Idempotent. A payment for a time that was released meanwhile confirms it again
    if the time is still free, otherwise it is refunded in full — money is never kept for nothing.
    A second payment for an appointment already paid (a card session completed after the patient
    paid with credit) is refunded in full at once, audited and announced (issue 23)."""
    if payment.status in ("succeeded", "refunded", "partially_refunded"):
        return "already"
    now = clock.now()
    payment.status, payment.failure_code, payment.updated_at = "succeeded", None, now
    if provider_payment_id:
        payment.provider_payment_id = provider_payment_id
    issue_receipt(uow, payment)  # SPEC §18: a numbered receipt in the payment's own transaction
    if payment.appointment_id is None:  # "See a doctor now" (SPEC §17): the patient joins the queue
        return walkin_queue.on_paid(uow, payment)
    appointment = uow.session.scalar(
        select(Appointment).where(Appointment.id == payment.appointment_id).with_for_update())
    if appointment is None:
        return "orphan"
    if appointment.status in ("confirmed", "paid"):
        return _refund_duplicate(uow, payment, appointment)
    outcome = "confirmed"
    try:
        if not can_transition(appointment.status, "confirmed", cancelled_by=appointment.cancelled_by):
            raise SlotConflict(N_("The patient gave this time back before paying."))  # refunded below
        with uow.session.begin_nested():
            if appointment.status == "cancelled":  # the hold expired before the payment came
                lock_doctor(uow.session, appointment.doctor_id)
                outcome = "confirmed_late"
                appointment.cancelled_at = appointment.cancelled_by = appointment.cancel_reason = None
            appointment.status, appointment.hold_expires_at, appointment.updated_at = "confirmed", None, now
            uow.session.flush()
    except (DBAPIError, SlotConflict):
        # The double-booking guard refused: someone else has that time now.
        uow.session.refresh(appointment)
        _refund_in_full(uow, payment, "time no longer available")
        uow.defer("jobs.notify.payment_refunded", str(payment.id), "unavailable")
        outcome = "refunded_late"
    if appointment.slot_id is not None:  # the payer's hold, not another patient's who took the time since
        uow.holds_freed(uow.session.scalars(
            update(Slot).where(Slot.id == appointment.slot_id, Slot.locked_by == payment.user_id)
            .values(locked_by=None, locked_until=None).returning(Slot.id)))
    if outcome != "refunded_late":
        funnel.record(uow.session, "paid", user_id=payment.user_id, doctor_id=appointment.doctor_id,
                      appointment_id=appointment.id)
        uow.defer("jobs.notify.appointment_event", "confirmed", str(appointment.id), appointment.reschedule_count)
    record_audit(uow.session, SYSTEM, action=f"payment.{outcome}", subject_type="appointment",
                 subject_id=str(appointment.id), at=now,
                 details={"paymentId": str(payment.id), "provider": payment.provider,
                          "amountCents": payment.amount_cents})
    log.info("payment confirmed", extra={"appointmentId": str(appointment.id), "outcome": outcome})
    return outcome


def _refund_in_full(uow: UnitOfWork, payment: Payment, reason: str) -> None:
    if payment.provider == "credit":
        payment.refunded_cents, payment.status, payment.updated_at = payment.amount_cents, "refunded", clock.now()
        credits.add_entry(uow.session, payment.user_id, "refund_credit", payment.amount_cents,
                          appointment_id=payment.appointment_id, payment_id=payment.id, note=reason.capitalize())
    else:
        record_refund(uow, payment, payment.amount_cents, reason=reason)


def _refund_duplicate(uow: UnitOfWork, payment: Payment, appointment: Appointment) -> str:
    """The appointment was already paid: this payment goes back in full, at once."""
    _refund_in_full(uow, payment, "appointment already paid")
    record_audit(uow.session, SYSTEM, action="payment.refunded_duplicate", subject_type="appointment",
                 subject_id=str(appointment.id), at=clock.now(),
                 details={"paymentId": str(payment.id), "provider": payment.provider,
                          "amountCents": payment.amount_cents, "currency": payment.currency})
    uow.defer("jobs.notify.payment_refunded", str(payment.id), "duplicate")
    log.warning("duplicate payment refunded", extra={"appointmentId": str(appointment.id),
                                                     "paymentId": str(payment.id)})
    return "refunded_duplicate"


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    payment_id: uuid.UUID
    appointment_id: uuid.UUID
    amount_cents: int
    currency: str
    status: str
    failure_code: str | None
    provider: str

    @property
    def metadata(self) -> dict[str, str]:
        return {"appointment_id": str(self.appointment_id), "payment_id": str(self.payment_id)}


def session_info(actor: Actor, session_id: str) -> SessionInfo:
    """A checkout session of the actor's (RLS: a patient sees only their own payments)."""
    with unit_of_work(actor) as uow:
        p = uow.session.scalar(select(Payment).where(Payment.provider_session_id == session_id))
        if p is None or p.appointment_id is None:
            raise NotFound(N_("No such checkout session."))
        return SessionInfo(session_id, p.id, p.appointment_id, p.amount_cents, p.currency, p.status,
                           p.failure_code, p.provider)


@dataclass(frozen=True)
class CreditOffer:
    balance_cents: int
    covers: bool  # credit pays the whole price or nothing


def credit_offer(actor: Actor, price_cents: int) -> CreditOffer:
    """What the checkout page offers: paying with credit only when it covers the whole price."""
    with unit_of_work(actor) as uow:
        balance = credits.balance(uow.session, actor.user_id)
    return CreditOffer(balance, balance >= price_cents)
