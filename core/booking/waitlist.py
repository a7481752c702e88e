"""The waitlist (SPEC §17; issue 15 item 6): "tell me if an earlier time frees up".

A patient asks, from a doctor's booking card, to be told of an earlier time until a date they
pick: with a booking with that doctor, a start earlier than it; without one, any start before the
date. When a start frees — a cancellation, a reschedule away from it, an unpaid hold that expired
or was replaced, the doctor turning time on — the transaction that freed it owes
`offer_freed_start` (`owe_offers`, an owed effect: it runs after the commit, or by the owed
sweep when Redis was down). That task, under the doctor's advisory lock (the one holds, bookings
and the double-booking trigger take), offers the start to the first waiter in order of asking
for whom the engine offers it, and holds it for them with the slot hold of SPEC §3 for 15 minutes
(never past the 60-minute booking notice). The offer is an email and a card on the dashboard.

Accepting moves the waiter's booking there (a free reschedule: it neither counts towards the
two per appointment nor towards the monthly cap) or books it (a pending appointment, then the
usual checkout). Declining, or letting the 15 minutes pass (`sweep_waitlist`, every minute),
hands the start to the next waiter. One live offer per start, one per waiter and a start never
twice to the same waiter are unique indexes (migration 0011e), so concurrent frees of one start
give exactly one offer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core import clock, config
from core.actor import SYSTEM, Actor
from core.booking import lifecycle, policy
from core.booking.changes import _locked, _record, _release_holds, _snapshot
from core.booking.pending import create_pending_in
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import InvalidTransition, NotFound, SlotConflict, ValidationFailed
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, User, WaitlistEntry, WaitlistOffer
from core.scheduling.availability import MAX_WINDOW
from core.scheduling.calendars import load_calendars
from core.scheduling.engine import ADVANCE_NOTICE, BUFFER, Availability
from core.scheduling.holds import HOLD_TTL, claim_slot, lock_doctor, require_patient

log = logging.getLogger(__name__)

OFFER_TASK = "core.booking.waitlist.offer_freed_start"
MIN_OFFER = timedelta(minutes=5)  # an offer that could be answered for less than this is not made
WAITLIST_REASON = "An earlier time from the waitlist"


# ---- rules -----------------------------------------------------------------------------------

def offer_expiry(now: datetime, start: datetime) -> datetime:
    """An offer is held 15 minutes (the hold of SPEC §3), never past the 60-minute booking notice:
    whatever the waiter accepts can still be booked."""
    return min(now + HOLD_TTL, start - ADVANCE_NOTICE)


def worth_offering(now: datetime, start: datetime) -> bool:
    """A freed start is offered only if the waiter has at least `MIN_OFFER` to answer."""
    return offer_expiry(now, start) - now >= MIN_OFFER


def until_moment(until: date, zone: ZoneInfo) -> datetime:
    """"Until 12 March" means through that whole day in the patient's zone."""
    return datetime.combine(until + timedelta(days=1), time.min, zone)


def check_until(until: date, today: date) -> None:
    if until < today:
        raise ValidationFailed(N_("Pick a date from today on."), details={"field": "until"})
    if until > today + MAX_WINDOW:
        raise ValidationFailed(N_("Pick a date within the next %(count)d days."), params={"count": MAX_WINDOW.days},
                               details={"field": "until"})


# ---- views -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OfferView:
    id: uuid.UUID
    doctor_id: uuid.UUID
    start: datetime
    end: datetime
    expires_at: datetime
    moves_booking: bool  # accepting moves the patient's booking (else books a new one)


@dataclass(frozen=True)
class EntryView:
    id: uuid.UUID
    doctor_id: uuid.UUID
    doctor_name: str
    until_at: datetime
    booking_start: datetime | None  # the booking an earlier time would replace
    offer: OfferView | None


@dataclass(frozen=True)
class Answer:
    outcome: str  # moved | booked
    appointment_id: uuid.UUID
    start: datetime


def _entries(session: Session, user_id: uuid.UUID, now: datetime, doctor_id: uuid.UUID | None = None) \
        -> list[EntryView]:
    query = (select(WaitlistEntry, Doctor.display_name, Appointment.start_at, Appointment.status)
             .join(Doctor, Doctor.id == WaitlistEntry.doctor_id)
             .outerjoin(Appointment, Appointment.id == WaitlistEntry.appointment_id)
             .where(WaitlistEntry.user_id == user_id, WaitlistEntry.status == "active", WaitlistEntry.until_at > now)
             .order_by(WaitlistEntry.created_at))
    if doctor_id is not None:
        query = query.where(WaitlistEntry.doctor_id == doctor_id)
    rows = session.execute(query).all()
    offers = {o.entry_id: o for o in session.scalars(select(WaitlistOffer).where(
        WaitlistOffer.entry_id.in_([r[0].id for r in rows]), WaitlistOffer.status == "offered",
        WaitlistOffer.expires_at > now))} if rows else {}
    found = []
    for entry, name, booked_start, booked_status in rows:
        booking = booked_start if booked_status in lifecycle.BOOKED else None
        offer = offers.get(entry.id)
        found.append(EntryView(entry.id, entry.doctor_id, name, entry.until_at, booking, offer and OfferView(
            offer.id, offer.doctor_id, offer.start_at, offer.end_at, offer.expires_at,
            booking is not None and offer.start_at < booking)))
    return found


def my_waitlist(actor: Actor) -> list[EntryView]:
    """The patient's waitlist entries with their live offers, for the dashboard (RLS: their own)."""
    if actor.role != "patient" or actor.user_id is None:
        return []
    with unit_of_work(actor) as uow:
        return _entries(uow.session, actor.user_id, clock.now())


def entry_for(actor: Actor, doctor_id: uuid.UUID) -> EntryView | None:
    """The patient's active entry with this doctor, for the booking card."""
    if actor.role != "patient" or actor.user_id is None:
        return None
    with unit_of_work(actor) as uow:
        return next(iter(_entries(uow.session, actor.user_id, clock.now(), doctor_id)), None)


# ---- the patient asks, and stops -------------------------------------------------------------

def _patient(session: Session, actor: Actor) -> tuple[uuid.UUID, ZoneInfo]:
    row = session.execute(select(Patient.id, User.timezone).join(User, User.id == Patient.user_id)
                          .where(Patient.user_id == actor.user_id)).one_or_none()
    if row is None:
        raise NotFound(N_("This account has no patient profile."))
    try:
        return row.id, ZoneInfo(row.timezone or "Europe/Paris")
    except (KeyError, ValueError):
        return row.id, ZoneInfo("Europe/Paris")


def _next_booking(session: Session, patient_id: uuid.UUID, doctor_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    return session.scalar(select(Appointment.id).where(
        Appointment.patient_id == patient_id, Appointment.doctor_id == doctor_id,
        Appointment.status.in_(lifecycle.BOOKED), Appointment.start_at > now).order_by(Appointment.start_at).limit(1))


def join_waitlist(actor: Actor, doctor_id: uuid.UUID, until: date) -> EntryView:
    """"Tell me if an earlier time frees up" with this doctor, until `until` (a date in the
    patient's zone; SPEC §17). With a booking with the doctor, earlier than it; asking again
    changes the date. Only approved doctors (others are "not found")."""
    require_patient(actor)
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        patient_id, zone = _patient(session, actor)
        check_until(until, now.astimezone(zone).date())
        if session.scalar(select(Doctor.id).where(Doctor.id == doctor_id, Doctor.status == "approved")) is None:
            raise NotFound(N_("No such doctor."))
        booking = _next_booking(session, patient_id, doctor_id, now)
        until_at = until_moment(until, zone)
        entry = session.scalar(select(WaitlistEntry).where(
            WaitlistEntry.patient_id == patient_id, WaitlistEntry.doctor_id == doctor_id,
            WaitlistEntry.status == "active").with_for_update())
        if entry is None:
            entry = WaitlistEntry(user_id=actor.user_id, patient_id=patient_id, doctor_id=doctor_id,
                                  appointment_id=booking, until_at=until_at, created_at=now)
            session.add(entry)
        else:
            entry.until_at, entry.appointment_id = until_at, booking
        session.flush()
        return _entries(session, actor.user_id, now, doctor_id)[0]


def leave_waitlist(actor: Actor, entry_id: uuid.UUID) -> None:
    """Stop waiting. A live offer lapses: its hold is given back and the next waiter is offered."""
    require_patient(actor)
    now = clock.now()
    with unit_of_work(actor) as uow:
        entry = uow.session.scalar(select(WaitlistEntry).where(
            WaitlistEntry.id == entry_id, WaitlistEntry.user_id == actor.user_id).with_for_update())
        if entry is None:
            raise NotFound(N_("No such waitlist entry."))
        if entry.status != "active":
            return
        entry.status, entry.ended_at = "cancelled", now
        uow.session.flush()
        _end_live_offers(uow, "lapsed", now, entry_ids=[entry.id])


# ---- freed starts become offers ---------------------------------------------------------------

def owe_offers(uow: UnitOfWork, doctor_id: uuid.UUID, starts: Iterable[datetime]) -> int:
    """In the transaction that frees `starts` of this doctor: owe an offer of each to the waitlist
    (SPEC §17), if anyone is waiting for this doctor and the start is far enough ahead. Returns the
    offers owed. Runs for any actor: who waits is read as the system (RLS hides other patients)."""
    now = clock.now()
    starts = sorted({s for s in starts if s is not None and worth_offering(now, s)})
    if not starts:
        return 0
    query = select(func.max(WaitlistEntry.until_at)).where(WaitlistEntry.doctor_id == doctor_id,
                                                           WaitlistEntry.status == "active")
    if uow.actor.role in ("system", "admin"):
        latest = uow.session.scalar(query)
    else:
        with acting_as_system(uow) as session:
            latest = session.scalar(query)
    starts = [s for s in starts if latest is not None and s < latest]
    for start in starts:
        uow.defer(OFFER_TASK, str(doctor_id), start.isoformat())
    return len(starts)


def _free_for(session: Session, doctor_id: uuid.UUID, start: datetime, now: datetime, viewer: uuid.UUID,
              own_start: datetime | None, *, near: bool = False) -> Availability | None:
    """Does the engine offer `start` to this patient — their own holds not blocking them, and
    without their own booking, which would leave its time if they accepted? With `near`, the start
    the engine offers closest to it within the ±45 minutes a freed appointment blocked (the engine
    spaces what it offers 45 minutes apart, so the freed start itself may not be one of them)."""
    span = timedelta(days=1) if near else timedelta(0)
    first, last = start - span, start + (span or timedelta(seconds=1))
    calendar = load_calendars(session, [doctor_id], first, last, now).get(doctor_id)
    if calendar is None:
        return None
    if own_start is not None:
        calendar.appointment_starts = [s for s in calendar.appointment_starts if s != own_start]
    offered = [a for a in calendar.availability(first, last, now, viewer) if a.is_available
               and (start - BUFFER < a.start < start + BUFFER if near else a.start == start)]
    return min(offered, key=lambda a: (abs(a.start - start), a.start), default=None)


def _waiters(session: Session, doctor_id: uuid.UUID, start: datetime, now: datetime):
    """Active entries that want `start`, in order of asking: not yet offered it, with no other live
    offer, until after it, and — with a booking — only if it is earlier than the booking."""
    already = select(WaitlistOffer.id).where(WaitlistOffer.entry_id == WaitlistEntry.id, or_(
        WaitlistOffer.start_at == start, WaitlistOffer.status == "offered"))
    return session.execute(
        select(WaitlistEntry.id, WaitlistEntry.user_id, WaitlistEntry.appointment_id, WaitlistEntry.until_at,
               Appointment.start_at, Appointment.status)
        .outerjoin(Appointment, Appointment.id == WaitlistEntry.appointment_id)
        .where(WaitlistEntry.doctor_id == doctor_id, WaitlistEntry.status == "active",
               WaitlistEntry.until_at > start, ~already.exists(),
               or_(WaitlistEntry.appointment_id.is_(None), Appointment.status.not_in(lifecycle.BOOKED),
                   and_(Appointment.start_at > start, Appointment.start_at > now)))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()


def offer_freed_start(doctor_id: str, start: str) -> str:
    """Owed task: offer a freed start of this doctor to the first waiter who wants it and to whom
    the engine offers it, holding it for them (SPEC §17). Idempotent and safe under races: under
    the doctor's lock, a start already offered (or held, or booked) is not offered again. Returns
    what happened: offered | already_offered | too_soon | nobody."""
    doctor, moment = uuid.UUID(doctor_id), datetime.fromisoformat(start)
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        session = uow.session
        lock_doctor(session, doctor)
        _end_live_offers(uow, "expired", now, doctor_id=doctor)  # overdue ones first: their waiters are done
        if not worth_offering(now, moment):
            return "too_soon"
        if session.scalar(select(WaitlistOffer.id).where(  # one offer per freed start (and its ±45 min)
                WaitlistOffer.doctor_id == doctor, WaitlistOffer.start_at > moment - BUFFER,
                WaitlistOffer.start_at < moment + BUFFER, WaitlistOffer.status == "offered")):
            return "already_offered"
        for waiter in _waiters(session, doctor, moment - BUFFER, now):
            booked = waiter.start_at if waiter.status in lifecycle.BOOKED else None
            free = _free_for(session, doctor, moment, now, waiter.user_id, booked, near=True)
            if free is None or not worth_offering(now, free.start) or free.start >= waiter.until_at \
                    or (booked is not None and free.start >= booked) or session.scalar(select(WaitlistOffer.id).where(
                        WaitlistOffer.entry_id == waiter.id, WaitlistOffer.start_at == free.start)):
                continue
            moment, expires = free.start, offer_expiry(now, free.start)
            claimed = claim_slot(session, doctor, moment, free.end, waiter.user_id, expires, now)
            if claimed is None:
                continue
            uow.holds_freed(claimed.released)  # the waiter's other hold with this doctor, given back
            uow.hold_taken(claimed.id, waiter.user_id)
            offer = WaitlistOffer(entry_id=waiter.id, user_id=waiter.user_id, doctor_id=doctor,
                                  slot_id=claimed.id, start_at=moment, end_at=free.end, status="offered",
                                  offered_at=now, expires_at=expires)
            session.add(offer)
            session.flush()
            uow.defer("core.booking.waitlist.notify_offer", str(offer.id))
            log.info("waitlist offer made", extra={"offerId": str(offer.id)})
            return "offered"
        return "nobody"


def _end_live_offers(uow: UnitOfWork, status: str, now: datetime, *, doctor_id: uuid.UUID | None = None,
                     entry_ids: list[uuid.UUID] | None = None, offer_ids: list[uuid.UUID] | None = None) \
        -> list[uuid.UUID]:
    """End live offers — overdue ones (`expired`), or those of the given entries or ids — give
    their holds back and owe each start to the next waiter. Returns the slots given back."""
    conditions = [WaitlistOffer.status == "offered"]
    if entry_ids is not None or offer_ids is not None:
        conditions.append(or_(WaitlistOffer.entry_id.in_(entry_ids or []), WaitlistOffer.id.in_(offer_ids or [])))
    else:
        conditions.append(WaitlistOffer.expires_at <= now)
    if doctor_id is not None:
        conditions.append(WaitlistOffer.doctor_id == doctor_id)
    with acting_as_system(uow) as session:
        ended = session.execute(update(WaitlistOffer).where(*conditions).values(status=status, answered_at=now)
                                .returning(WaitlistOffer.doctor_id, WaitlistOffer.start_at, WaitlistOffer.slot_id,
                                           WaitlistOffer.user_id)).all()
        freed = []
        for row in ended:
            freed += _release_holds(session, [row.slot_id], row.user_id)
            uow.defer(OFFER_TASK, str(row.doctor_id), row.start_at.isoformat())
    uow.holds_freed(freed)
    return freed


def sweep_waitlist() -> dict[str, int]:
    """Periodic (every minute): offers whose 15 minutes are over expire and their start goes to the
    next waiter; entries past their date, or whose booking is no longer ahead, end. Returns counts."""
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        session = uow.session
        ended_entries = session.scalars(
            update(WaitlistEntry).where(WaitlistEntry.status == "active", or_(
                WaitlistEntry.until_at <= now,
                WaitlistEntry.appointment_id.in_(select(Appointment.id).where(or_(
                    Appointment.status.not_in(lifecycle.BOOKED), Appointment.start_at <= now)))))
            .values(status="expired", ended_at=now).returning(WaitlistEntry.id)).all()
        if ended_entries:
            _end_live_offers(uow, "lapsed", now, entry_ids=list(ended_entries))
        expired = _end_live_offers(uow, "expired", now)
    return {"entriesEnded": len(ended_entries), "offersExpired": len(expired)}


# ---- the waiter answers ----------------------------------------------------------------------

def _live_offer(uow: UnitOfWork, actor: Actor, offer_id: uuid.UUID) -> tuple[WaitlistOffer, WaitlistEntry]:
    """The actor's offer, locked, with its entry — ERR_INVALID_STATE once it has ended."""
    peek = uow.session.scalar(select(WaitlistOffer).where(WaitlistOffer.id == offer_id,
                                                          WaitlistOffer.user_id == actor.user_id))
    if peek is None:
        raise NotFound(N_("No such offer."))
    lock_doctor(uow.session, peek.doctor_id)  # doctor first, then the rows: the order bookers use
    with acting_as_system(uow) as session:  # the patient may read the offer, not lock it
        offer = session.scalar(select(WaitlistOffer).where(WaitlistOffer.id == offer_id).with_for_update()
                               .execution_options(populate_existing=True))
        entry = session.get(WaitlistEntry, offer.entry_id)
    if offer.status != "offered" or offer.expires_at <= clock.now() or entry.status != "active":
        raise InvalidTransition(N_("This offer has ended: the time went to someone else or was given back."),
                                details={"status": offer.status})
    return offer, entry


def accept_offer(actor: Actor, offer_id: uuid.UUID) -> Answer:
    """Take the offered time (SPEC §17): a booked patient's appointment moves there — a free
    reschedule, counted neither per appointment nor per month — and their old time is offered to
    the next waiter; a patient without a booking gets a pending appointment on the time (it is
    theirs for 15 minutes, the usual checkout follows)."""
    require_patient(actor)
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        offer, entry = _live_offer(uow, actor, offer_id)
        booking = session.get(Appointment, entry.appointment_id) if entry.appointment_id else None
        if booking is not None and booking.status in lifecycle.BOOKED and booking.start_at > now:
            answer = _move(uow, actor, offer, booking, now)
        else:
            created, _hold, _freed = create_pending_in(uow, actor, offer.doctor_id, offer.start_at, now)
            answer = Answer("booked", created.id, created.start)
        with acting_as_system(uow):
            offer.status, offer.answered_at, offer.appointment_id = "accepted", now, answer.appointment_id
            entry.status, entry.ended_at = "fulfilled", now
    return answer


def _move(uow: UnitOfWork, actor: Actor, offer: WaitlistOffer, booking: Appointment, now: datetime) -> Answer:
    session = uow.session
    appointment = _locked(session, booking.id)
    if appointment.start_at <= offer.start_at:
        raise InvalidTransition(N_("Your appointment is already at this time or earlier."))
    policy.check_new_start(now=now, start=appointment.start_at, new_start=offer.start_at)
    if _free_for(session, appointment.doctor_id, offer.start_at, now, actor.user_id, appointment.start_at) is None:
        raise SlotConflict(N_("This time is no longer available."))
    old_start = appointment.start_at
    uow.holds_freed(_release_holds(session, [appointment.slot_id, offer.slot_id], actor.user_id))
    before = _snapshot(appointment)
    appointment.start_at, appointment.end_at, appointment.slot_id = offer.start_at, offer.end_at, offer.slot_id
    appointment.updated_at = now  # reschedule_count unchanged: a waitlist move is free (SPEC §17)
    session.flush()  # the double-booking trigger: the last guard
    after = {**_snapshot(appointment), "viaWaitlist": True}
    _record(uow, actor, appointment, "reschedule", WAITLIST_REASON, before, after, now,
            details={"waitlistOfferId": str(offer.id)})
    uow.defer("jobs.notify.appointment_event", "rescheduled", str(appointment.id), appointment.reschedule_count)
    owe_offers(uow, appointment.doctor_id, [old_start])  # the time it leaves frees for the next waiter
    return Answer("moved", appointment.id, appointment.start_at)


def decline_offer(actor: Actor, offer_id: uuid.UUID) -> None:
    """"No thanks": the hold is given back and the next waiter is offered the time. The patient
    keeps waiting for another one."""
    require_patient(actor)
    with unit_of_work(actor) as uow:
        offer, _entry = _live_offer(uow, actor, offer_id)
        _end_live_offers(uow, "declined", clock.now(), offer_ids=[offer.id])


# ---- the notice ------------------------------------------------------------------------------

def notify_offer(offer_id: str) -> int:
    """Owed task: the offer by email, in the waiter's language and zone (queued once)."""
    from core.notify.outbox import Outgoing, queue_once
    from core.notify.rendering import format_when, language_of, render, zone_of

    settings = config.current()
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.execute(
            select(WaitlistOffer, User.email, User.full_name, User.locale, User.timezone, User.is_active,
                   Doctor.display_name, Doctor.timezone.label("doctor_zone"))
            .join(User, User.id == WaitlistOffer.user_id).join(Doctor, Doctor.id == WaitlistOffer.doctor_id)
            .where(WaitlistOffer.id == uuid.UUID(offer_id))).one_or_none()
        if row is None or not row.is_active or row.WaitlistOffer.status != "offered":
            return 0
        offer, language = row.WaitlistOffer, language_of(row.locale)
        zone = zone_of(row.timezone, row.doctor_zone)
        message = render("waitlist_offer", language, patient_name=row.full_name, doctor_name=row.display_name,
                         when=format_when(offer.start_at, zone, language), zone_name=zone.key,
                         until=offer.expires_at.astimezone(zone).strftime("%H:%M"),
                         dashboard_url=f"{settings.public_base_url}/dashboard#waitlist")
        queued = queue_once(uow, Outgoing("email", row.email, message.text, message.subject, message.html),
                            f"waitlist-offer:{offer.id}:email")
        return int(queued is not None)
