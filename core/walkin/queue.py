"""See a doctor now (SPEC §17): the walk-in queue in PostgreSQL.

A patient presses "See a doctor now", pays €35 (card through the same checkout and webhook, or
credit) and waits; a doctor who is Online and *taking consultations now* and free (no active
appointment within 45 minutes of now) accepts the first-paid waiting patient; the request becomes
an appointment starting now — the 60-minute notice does not apply, the ±45-minute guard (the
database trigger) does. Two doctors accepting at once: `FOR UPDATE SKIP LOCKED` hands them two
different patients (or the second none); one request becomes one appointment (unique index).

Money: a patient who leaves before a doctor accepts, or chooses the refund after
`WALKIN_MAX_WAIT`, is refunded in full through core.payments.refunds (owed, idempotent) or as
credit; a payment that arrives for a request that already ended is refunded too. Once.

Rules are plain functions at the top; services below open their own unit of work.
"""

from __future__ import annotations

import logging
import math
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError

from core import clock, config, funnel
from core.accounts.profile import require_complete_profile
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import (
    DoctorBusy,
    Forbidden,
    InvalidTransition,
    NoDoctorAvailable,
    NotFound,
    PaymentFailed,
    SlotConflict,
)
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, Payment, User, WalkinRequest
from core.payments import credits
from core.payments.gateway import current_gateway
from core.payments.refunds import record_refund
from core.scheduling.holds import lock_doctor
from core.video import presence
from core.video.readiness import latest_test

log = logging.getLogger(__name__)

PRICE_CENTS, CURRENCY = 3500, "EUR"  # the pay-per-visit price (SPEC §8)
CONSULTATION = timedelta(minutes=30)
GUARD = timedelta(minutes=45)  # the ±45 min buffer of SPEC §3
USUAL_WAIT_WINDOW = timedelta(days=7)
DEFAULT_MINUTES_PER_PATIENT = 10  # before there is data: a patient every ~10 min per doctor


# ---- rules -----------------------------------------------------------------------------------

def usual_wait_minutes(waits: list[timedelta]) -> int | None:
    """"Usual wait about M min" (SPEC §17): the median of the last 7 days' waits from payment to a
    doctor's acceptance, rounded up to a whole minute (at least 1); None before there is data."""
    if not waits:
        return None
    return max(1, math.ceil(statistics.median(w.total_seconds() for w in waits) / 60))


def estimated_wait_minutes(position: int, doctors_taking: int, usual: int | None) -> int:
    """The waiting patient's estimate: the patients ahead shared among the doctors taking
    consultations, a usual wait (or 10 min) per round; at least 1 minute."""
    per_round = usual or DEFAULT_MINUTES_PER_PATIENT
    rounds = math.ceil(position / max(doctors_taking, 1))
    return max(1, rounds * per_round if doctors_taking else per_round * position)


def refund_offered(paid_at: datetime, keep_waiting_at: datetime | None, now: datetime, max_wait: timedelta,
                   doctors_taking: int) -> bool:
    """After `WALKIN_MAX_WAIT` in the queue — counted again from "keep waiting" — or at once when no
    doctor is taking consultations any more, the patient is offered a full refund (SPEC §17)."""
    if doctors_taking == 0:
        return True
    return now - (keep_waiting_at or paid_at) >= max_wait


# ---- what the pages show ----------------------------------------------------------------------

@dataclass(frozen=True)
class Availability:
    available: int  # doctors online, taking consultations now and free
    usual_wait: int | None  # minutes; None before there is data


def _blocks(now: datetime):
    """An appointment that keeps its doctor from taking a walk-in now (the guard's meaning)."""
    return and_(Appointment.start_at > now - GUARD, Appointment.start_at < now + GUARD,
                or_(Appointment.status.in_(("paid", "confirmed")),
                    and_(Appointment.status == "pending",
                         or_(Appointment.hold_expires_at.is_(None), Appointment.hold_expires_at > now))))


def _blocking(now: datetime):
    return and_(Appointment.doctor_id == Doctor.id, _blocks(now))


def _doctor_busy(uow: UnitOfWork, doctor_id: uuid.UUID, now: datetime) -> bool:
    # As the system: the guard counts every appointment, which a doctor can see anyway (their own).
    return bool(uow.session.scalar(select(func.count()).select_from(Appointment)
                                   .where(Appointment.doctor_id == doctor_id, _blocks(now))))


# Who may take walk-ins: Online, taking consultations, and approved (SPEC §19: a doctor under review
# or suspended is neither listed nor bookable, walk-ins included).
TAKING = (Doctor.online, Doctor.taking_now, Doctor.status == "approved")


def _free_doctors(uow: UnitOfWork, now: datetime):
    return uow.session.scalars(select(Doctor.id).where(
        *TAKING, ~select(Appointment.id).where(_blocking(now)).exists())).all()


def _usual_wait(uow: UnitOfWork, now: datetime) -> int | None:
    rows = uow.session.execute(select(WalkinRequest.accepted_at - WalkinRequest.paid_at).where(
        WalkinRequest.status == "accepted", WalkinRequest.accepted_at >= now - USUAL_WAIT_WINDOW)).scalars().all()
    return usual_wait_minutes([r for r in rows if r is not None])


def availability() -> Availability:
    """The home page's and /doctors' "See a doctor now — N available, usual wait about M min"
    (SPEC §17): doctors Online, taking consultations now and with no appointment within 45 min."""
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        return Availability(len(_free_doctors(uow, now)), _usual_wait(uow, now))


@dataclass(frozen=True)
class WalkinView:
    id: uuid.UUID
    status: str
    paid_at: datetime | None
    position: int | None  # 1 = next; only while waiting
    estimated_minutes: int | None
    waited_seconds: int
    refund_offered: bool
    doctors_taking: int
    appointment_id: uuid.UUID | None
    checkout_url: str | None  # an unpaid request's open card checkout
    readiness: str
    price_cents: int
    currency: str
    max_wait_minutes: int


def _own(uow: UnitOfWork, actor: Actor, request_id: uuid.UUID, *, lock: bool = False) -> WalkinRequest:
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Only patients can wait for a doctor."))
    query = select(WalkinRequest).where(WalkinRequest.id == request_id, WalkinRequest.user_id == actor.user_id)
    row = uow.session.scalar(query)
    if row is None:
        raise NotFound(N_("No such request."))
    if lock:  # the patient may not lock rows (no UPDATE right): the system locks the one just checked
        with acting_as_system(uow) as s:
            row = s.scalar(query.with_for_update().execution_options(populate_existing=True))
    return row


def _doctors_taking(uow: UnitOfWork) -> int:
    # Counted as the system: a patient may read doctors but the count is not theirs to filter.
    return uow.session.scalar(select(func.count()).select_from(Doctor).where(*TAKING)) or 0


def request_view(actor: Actor, request_id: uuid.UUID) -> WalkinView:
    """The waiting room's state (SPEC §17): place in the queue, estimated wait, the refund offer,
    and the appointment once a doctor accepted. The position is computed by the system (a patient
    cannot see the other rows, RLS) and only the number is returned."""
    now, settings = clock.now(), config.current()
    with unit_of_work(actor) as uow:
        row = _own(uow, actor, request_id)
        readiness = presence.readiness(latest_test(uow.session, actor.user_id), now)
        checkout_url = None
        if row.status == "unpaid" and row.payment_id is not None:
            session_id = uow.session.scalar(select(Payment.provider_session_id).where(
                Payment.id == row.payment_id, Payment.status.in_(("pending", "failed"))))
            checkout_url = current_gateway().session_url(session_id) if session_id else None
        with acting_as_system(uow) as s:
            taking = _doctors_taking(uow)
            position = None
            if row.status == "waiting":
                position = 1 + (s.scalar(select(func.count()).select_from(WalkinRequest).where(
                    WalkinRequest.status == "waiting",
                    or_(WalkinRequest.paid_at < row.paid_at,
                        and_(WalkinRequest.paid_at == row.paid_at, WalkinRequest.id < row.id)))) or 0)
            usual = _usual_wait(uow, now) if position else None
        waited = int((now - row.paid_at).total_seconds()) if row.paid_at and row.status == "waiting" else 0
        offered = row.status == "waiting" and refund_offered(
            row.paid_at, row.keep_waiting_at, now, timedelta(minutes=settings.walkin_max_wait_minutes), taking)
        return WalkinView(row.id, row.status, row.paid_at, position,
                          estimated_wait_minutes(position, taking, usual) if position else None, waited, offered,
                          taking, row.appointment_id, checkout_url, readiness, row.price_cents, row.currency,
                          settings.walkin_max_wait_minutes)


def record_button_pressed(actor: Actor, visitor_id: str | None) -> None:
    """The funnel's entry point "see a doctor now" (SPEC §22): pressing the button counts as having
    seen availability — the doctors free now — for the visitor or the account."""
    with unit_of_work(actor) as uow:
        funnel.record(uow.session, "availability_viewed", user_id=actor.user_id, visitor_id=visitor_id)


def open_request_id(actor: Actor) -> uuid.UUID | None:
    """The patient's unpaid or waiting request, if any (one at a time, a unique index)."""
    if actor.role != "patient" or actor.user_id is None:
        return None
    with unit_of_work(actor) as uow:
        return uow.session.scalar(select(WalkinRequest.id).where(
            WalkinRequest.user_id == actor.user_id, WalkinRequest.status.in_(("unpaid", "waiting"))))


# ---- the patient ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    request_id: uuid.UUID
    status: str
    checkout_url: str | None


def _new_request(uow: UnitOfWork, actor: Actor) -> WalkinRequest:
    patient_id = uow.session.scalar(select(Patient.id).where(Patient.user_id == actor.user_id))
    if patient_id is None:
        raise Forbidden(N_("This account has no patient profile."))
    row = WalkinRequest(id=uuid.uuid4(), user_id=actor.user_id, patient_id=patient_id, status="unpaid",
                        price_cents=PRICE_CENTS, currency=CURRENCY, created_at=clock.now())
    uow.session.add(row)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except DBAPIError as exc:  # a second tab pressed too: its open request is the one
        raise SlotConflict(N_("You are already waiting for a doctor.")) from exc
    return row


def start_request(actor: Actor, *, by_card: bool = True) -> Started:
    """The patient pressed "See a doctor now" (SPEC §17): ERR_PROFILE_INCOMPLETE without a health
    profile, ERR_NO_DOCTOR_AVAILABLE when no doctor is free; otherwise the request and its card
    checkout (the same gateway and webhook as bookings). An open request is reused."""
    require_complete_profile(actor)
    existing = open_request_id(actor)
    if existing is not None:
        view = request_view(actor, existing)
        if view.status == "waiting" or not by_card:
            return Started(existing, view.status, None)
        if view.checkout_url:
            return Started(existing, view.status, view.checkout_url)
    if existing is None and availability().available == 0:
        raise NoDoctorAvailable()
    settings = config.current()
    with unit_of_work(actor) as uow:
        if existing:
            row = uow.session.scalar(select(WalkinRequest).where(WalkinRequest.id == existing))
        else:
            row = _new_request(uow, actor)
            # The walk-in's counterpart of a held slot: a place asked for (the funnel, SPEC §22).
            funnel.record(uow.session, "slot_held", user_id=actor.user_id)
        if not by_card:
            return Started(row.id, row.status, None)
        email = uow.session.scalar(select(User.email).where(User.id == actor.user_id))
        payment_id, gateway, base = uuid.uuid4(), current_gateway(), settings.public_base_url
        session = gateway.create_checkout_session(
            amount_cents=row.price_cents, currency=row.currency,
            description="Video consultation now (30 min)", customer_email=email,
            success_url=f"{base}/now/{row.id}?session_id={{CHECKOUT_SESSION_ID}}", cancel_url=f"{base}/now",
            metadata={"walkin_id": str(row.id), "payment_id": str(payment_id)},
            idempotency_key=f"checkout:{payment_id}")
        uow.session.add(Payment(id=payment_id, user_id=actor.user_id, appointment_id=None, kind="visit",
                                provider=gateway.name, provider_session_id=session.id, amount_cents=row.price_cents,
                                currency=row.currency, status="pending", created_at=clock.now(),
                                updated_at=clock.now()))
        uow.session.flush()
        with acting_as_system(uow):
            row.payment_id = payment_id
        funnel.record(uow.session, "checkout_started", user_id=actor.user_id)
        return Started(row.id, row.status, session.url)


def pay_with_credit(actor: Actor, request_id: uuid.UUID) -> str:
    """Pay the walk-in with credit (the whole price or nothing): the patient joins the queue at once.
    Racing checkouts for the last credit: one wins, the other gets ERR_PAYMENT_FAILED (the ledger)."""
    require_complete_profile(actor)
    with unit_of_work(actor) as uow:
        row = _own(uow, actor, request_id, lock=True)
        if row.status != "unpaid":
            return row.status
        with acting_as_system(uow) as s:
            if credits.balance(s, actor.user_id) < row.price_cents:
                raise PaymentFailed(N_("Your credit does not cover this consultation."))
            payment = Payment(user_id=actor.user_id, appointment_id=None, kind="visit", provider="credit",
                              amount_cents=row.price_cents, currency=row.currency, status="pending",
                              created_at=clock.now(), updated_at=clock.now())
            s.add(payment)
            s.flush()
            _close_card_checkouts(uow, row)
            credits.add_entry(s, actor.user_id, "spend", -row.price_cents, payment_id=payment.id,
                              note="Consultation now, paid with credit")
            row.payment_id = payment.id
            payment.status, payment.updated_at = "succeeded", clock.now()
            return on_paid(uow, payment, row=row)


def _close_card_checkouts(uow: UnitOfWork, row: WalkinRequest) -> None:
    if row.payment_id is None:
        return
    card = uow.session.scalar(select(Payment).where(Payment.id == row.payment_id, Payment.provider != "credit",
                                                    Payment.status.in_(("pending", "failed"))).with_for_update())
    if card is not None and card.provider_session_id:
        card.status, card.updated_at = "cancelled", clock.now()
        uow.defer_once(f"expire:{card.provider_session_id}", "core.payments.checkout.expire_checkout_session",
                       card.provider_session_id)


def find_for_payment(uow: UnitOfWork, payment: Payment) -> WalkinRequest | None:
    """The walk-in a payment without an appointment belongs to (system actor)."""
    return uow.session.scalar(select(WalkinRequest).where(WalkinRequest.payment_id == payment.id).with_for_update())


def on_paid(uow: UnitOfWork, payment: Payment, *, row: WalkinRequest | None = None) -> str:
    """The verified payment of a walk-in arrived (system actor, from `confirm_paid`): the patient
    joins the queue, ordered by this moment. A payment for a request that already ended (the
    patient gave up while paying) or was paid another way is refunded in full at once."""
    row = row or find_for_payment(uow, payment)
    if row is None:
        return "orphan"
    now = clock.now()
    if row.status == "unpaid" and row.payment_id == payment.id:
        row.status, row.paid_at = "waiting", now
        funnel.record(uow.session, "paid", user_id=payment.user_id)
        record_audit(uow.session, SYSTEM, action="walkin.paid", subject_type="walkin", subject_id=str(row.id),
                     at=now, details={"paymentId": str(payment.id), "provider": payment.provider})
        return "walkin_waiting"
    if row.payment_id != payment.id or row.status in ("left", "refunded", "cancelled"):
        _refund(uow, payment, "request already ended")
        return "walkin_refunded_late"
    return "already"


def _refund(uow: UnitOfWork, payment: Payment, reason: str) -> None:
    """Everything paid goes back: card through the refunds service (owed, idempotent), credit
    to the ledger. Then an email (owed once per payment)."""
    if payment.status not in ("succeeded", "partially_refunded"):
        return
    if payment.provider == "credit":
        payment.refunded_cents, payment.status, payment.updated_at = payment.amount_cents, "refunded", clock.now()
        credits.add_entry(uow.session, payment.user_id, "refund_credit", payment.amount_cents,
                          payment_id=payment.id, note=reason.capitalize())
    else:
        record_refund(uow, payment, payment.amount_cents - payment.refunded_cents, reason=reason)
    uow.defer_once(f"walkin-refunded:{payment.id}", "core.walkin.notices.notify_walkin_refunded", str(payment.id))


def leave(actor: Actor, request_id: uuid.UUID) -> str:
    """The patient leaves the queue before a doctor accepted — or takes the refund offered after
    `WALKIN_MAX_WAIT` — and is refunded in full (SPEC §17). An unpaid request is just closed (its
    card checkout too). Too late once a doctor accepted: ERR_INVALID_STATE."""
    with unit_of_work(actor) as uow:
        row = _own(uow, actor, request_id, lock=True)
        if row.status in ("left", "refunded", "cancelled"):
            return row.status
        if row.status == "accepted":
            raise InvalidTransition(N_("A doctor has already accepted: join the consultation."))
        now = clock.now()
        with acting_as_system(uow) as s:
            if row.status == "unpaid":
                _close_card_checkouts(uow, row)
                row.status, row.ended_at = "cancelled", now
                return "cancelled"
            row.status, row.ended_at = "left", now
            payment = s.scalar(select(Payment).where(Payment.id == row.payment_id).with_for_update())
            if payment is not None:
                _refund(uow, payment, "left the queue before a doctor accepted")
            record_audit(s, SYSTEM, action="walkin.left", subject_type="walkin", subject_id=str(row.id), at=now,
                         details={"waitedSeconds": int((now - row.paid_at).total_seconds())})
        return "left"


def keep_waiting(actor: Actor, request_id: uuid.UUID) -> None:
    """The patient chose to keep waiting after the refund offer: offered again after another
    `WALKIN_MAX_WAIT`."""
    with unit_of_work(actor) as uow:
        row = _own(uow, actor, request_id, lock=True)
        if row.status == "waiting":
            with acting_as_system(uow):
                row.keep_waiting_at = clock.now()


# ---- the doctor -------------------------------------------------------------------------------

def _own_doctor(uow: UnitOfWork, actor: Actor) -> Doctor:
    if actor.role != "doctor" or actor.user_id is None:
        raise Forbidden(N_("Only doctors take consultations."))
    doctor = uow.session.scalar(select(Doctor).where(Doctor.user_id == actor.user_id))
    if doctor is None:
        raise Forbidden(N_("This account has no doctor profile."))
    return doctor


def set_taking_now(actor: Actor, taking: bool) -> bool:
    """The portal's "Taking consultations now" switch (SPEC §17): only while Online."""
    with unit_of_work(actor) as uow:
        doctor = _own_doctor(uow, actor)
        value = bool(taking) and doctor.online and doctor.status == "approved"
        uow.session.execute(update(Doctor).where(Doctor.id == doctor.id).values(taking_now=value))
        return value


@dataclass(frozen=True)
class NextPatient:
    waiting_seconds: int
    readiness: str  # ready | audio_only | failed | not_tested
    queue_length: int


@dataclass(frozen=True)
class DoctorQueue:
    taking_now: bool
    online: bool
    free: bool
    next_patient: NextPatient | None


def doctor_queue(actor: Actor) -> DoctorQueue:
    """What a doctor taking consultations sees (SPEC §17): "Next patient: waiting 1 min · devices
    ready", only that — no name, no record before accepting."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        doctor = _own_doctor(uow, actor)
        free = not _doctor_busy(uow, doctor.id, now)
        if not (doctor.online and doctor.taking_now):
            return DoctorQueue(doctor.taking_now, doctor.online, free, None)
        head = uow.session.execute(select(WalkinRequest.user_id, WalkinRequest.paid_at).where(
            WalkinRequest.status == "waiting").order_by(WalkinRequest.paid_at, WalkinRequest.id).limit(1)).first()
        length = uow.session.scalar(select(func.count()).select_from(WalkinRequest)
                                    .where(WalkinRequest.status == "waiting")) or 0
        nxt = None
        if head is not None:
            with acting_as_system(uow) as s:  # the device test is the patient's; only its verdict is shown
                readiness = presence.readiness(latest_test(s, head.user_id), now)
            nxt = NextPatient(int((now - head.paid_at).total_seconds()), readiness, length)
        return DoctorQueue(True, True, free, nxt)


# The race (SPEC §17): the first-paid waiting request nobody else is taking, locked; a concurrent
# accept skips it (SKIP LOCKED) and gets the next one. The row is then marked accepted by this
# doctor (RLS lets a doctor write only that), once the appointment exists.
PICK = text("""
SELECT id, patient_id, payment_id, price_cents, currency FROM walkin_requests
 WHERE status = 'waiting' ORDER BY paid_at, id FOR UPDATE SKIP LOCKED LIMIT 1
""")
MARK = text("""
UPDATE walkin_requests SET status = 'accepted', doctor_id = :doctor, accepted_at = :now, appointment_id = :appointment
 WHERE id = :id AND status = 'waiting' RETURNING id
""")


@dataclass(frozen=True)
class Accepted:
    request_id: uuid.UUID
    appointment_id: uuid.UUID


def accept_next(actor: Actor) -> Accepted | None:
    """Accept the next waiting patient (SPEC §17): first-paid first-served; two doctors at once →
    each gets a different patient or none (SKIP LOCKED), never the same one. The appointment
    starts now: no 60-minute notice, but the double-booking trigger's ±45 min guard applies
    (ERR_DOCTOR_BUSY / ERR_SLOT_CONFLICT, and nothing changes). None when nobody waits."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        doctor = _own_doctor(uow, actor)
        if not (doctor.online and doctor.taking_now and doctor.status == "approved"):
            raise Forbidden(N_("Switch on “Taking consultations now” first."))
        lock_doctor(uow.session, doctor.id)  # the guard's lock first: bookers of this doctor wait
        if _doctor_busy(uow, doctor.id, now):
            raise DoctorBusy()
        taken = uow.session.execute(PICK).first()
        if taken is None:
            return None
        appointment_id = uuid.uuid4()
        with acting_as_system(uow) as s:
            s.add(Appointment(id=appointment_id, doctor_id=doctor.id, patient_id=taken.patient_id, start_at=now,
                              end_at=now + CONSULTATION, status="confirmed", price_cents=taken.price_cents,
                              currency=taken.currency, created_at=now, updated_at=now))
            s.flush()  # the double-booking trigger runs here
        if uow.session.execute(MARK, {"doctor": doctor.id, "now": now, "appointment": appointment_id,
                                      "id": taken.id}).first() is None:
            raise SlotConflict(N_("That patient was just taken by another doctor."))  # cannot happen: locked
        with acting_as_system(uow) as s:
            s.execute(update(Payment).where(Payment.id == taken.payment_id).values(appointment_id=appointment_id))
            record_audit(s, SYSTEM, action="walkin.accepted", subject_type="appointment",
                         subject_id=str(appointment_id), at=now,
                         details={"walkinId": str(taken.id), "doctorId": str(doctor.id)})
        uow.defer("jobs.notify.appointment_event", "confirmed", str(appointment_id), 0)
        log.info("walk-in accepted", extra={"appointmentId": str(appointment_id)})
        return Accepted(taken.id, appointment_id)


# ---- the console ------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueStats:
    waiting: int
    longest_wait_seconds: int
    over_max_wait: int
    doctors_taking: int
    usual_wait: int | None
    max_wait_minutes: int


def queue_stats(actor: Actor) -> QueueStats:
    """The console's walk-in tile and alert (SPEC §17): queue length, the longest wait, how many
    wait longer than `WALKIN_MAX_WAIT`. Aggregates only; staff only."""
    if actor.role not in ("admin", "system"):
        raise Forbidden()
    now, max_wait = clock.now(), config.current().walkin_max_wait_minutes
    with unit_of_work(actor) as uow:
        paid = uow.session.scalars(select(WalkinRequest.paid_at).where(WalkinRequest.status == "waiting")).all()
        waits = [int((now - p).total_seconds()) for p in paid]
        return QueueStats(len(waits), max(waits, default=0), sum(w >= max_wait * 60 for w in waits),
                          _doctors_taking(uow), _usual_wait(uow, now), max_wait)


def offer_refunds_after_max_wait() -> int:
    """Periodic (every minute): each patient waiting longer than `WALKIN_MAX_WAIT` gets one email
    offering keep waiting or a full refund (the page offers the same). Returns emails owed."""
    now = clock.now()
    cutoff = now - timedelta(minutes=config.current().walkin_max_wait_minutes)
    owed = 0
    with unit_of_work(SYSTEM) as uow:
        ids = uow.session.scalars(select(WalkinRequest.id).where(
            WalkinRequest.status == "waiting", WalkinRequest.paid_at <= cutoff,
            or_(WalkinRequest.keep_waiting_at.is_(None), WalkinRequest.keep_waiting_at <= cutoff))).all()
        for request_id in ids:
            if uow.defer_once(f"walkin-long:{request_id}", "core.walkin.notices.notify_walkin_long_wait",
                              str(request_id)):
                owed += 1
    return owed


@dataclass(frozen=True)
class WalkinSession:
    """A walk-in's card checkout session, for the local stand-in of Stripe's page."""

    session_id: str
    payment_id: uuid.UUID
    request_id: uuid.UUID
    amount_cents: int
    currency: str
    status: str
    provider: str

    @property
    def metadata(self) -> dict[str, str]:
        return {"walkin_id": str(self.request_id), "payment_id": str(self.payment_id)}


def walkin_session(actor: Actor, session_id: str) -> WalkinSession | None:
    """The actor's walk-in checkout session with this id, or None (RLS: their own payments only)."""
    with unit_of_work(actor) as uow:
        row = uow.session.execute(
            select(Payment.id, Payment.amount_cents, Payment.currency, Payment.status, Payment.provider,
                   WalkinRequest.id.label("request_id"))
            .join(WalkinRequest, WalkinRequest.payment_id == Payment.id)
            .where(Payment.provider_session_id == session_id, Payment.user_id == actor.user_id)).first()
    if row is None:
        return None
    return WalkinSession(session_id, row.id, row.request_id, row.amount_cents, row.currency, row.status,
                         row.provider)
