"""The waitlist (SPEC §17, issue 15 item 6): a freed start is offered to the first waiter only,
held for them 15 minutes, then to the next; accepting moves their booking (free) or books it."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core import clock, tasks
from core.actor import SYSTEM, Actor
from core.booking import changes, waitlist
from core.booking.dashboard import patient_overview
from core.db import unit_of_work
from core.errors import InvalidTransition, NotFound, ValidationFailed
from core.models import Appointment, OutboxMessage, OwedEffect, Slot, WaitlistEntry, WaitlistOffer
from core.owed import sweep_owed
from core.scheduling import doctor_slots
from core.scheduling.holds import unlock_stale_slots
from tests.integration.scheduling.conftest import paris


@pytest.fixture(autouse=True)
def owed_effects_run_at_once():
    """As a worker would: each owed effect runs right after its commit (claimed, then marked done)."""
    previous = tasks.set_dispatcher(tasks.run_inline)
    yield
    tasks.set_dispatcher(previous)


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def booked(make_user, doctor, start, status="confirmed"):
    """A patient with a booking with `doctor` at `start`."""
    patient = make_user("patient", full_name="Booked Patient")
    with unit_of_work(SYSTEM) as uow:
        appointment = Appointment(doctor_id=doctor.doctor.id, patient_id=patient.patient.id, start_at=start,
                                  end_at=start + timedelta(minutes=30), status=status, price_cents=3500)
        uow.session.add(appointment)
        uow.session.flush()
        return patient, appointment.id


def offers(**where) -> list[WaitlistOffer]:
    with unit_of_work(SYSTEM) as uow:
        query = select(WaitlistOffer).order_by(WaitlistOffer.offered_at, WaitlistOffer.id)
        for name, value in where.items():
            query = query.where(getattr(WaitlistOffer, name) == value)
        return list(uow.session.scalars(query))


def slot_holder(doctor, start):
    with unit_of_work(SYSTEM) as uow:
        return uow.session.execute(select(Slot.locked_by, Slot.locked_until).where(
            Slot.doctor_id == doctor.doctor.id, Slot.start_at == start)).one_or_none()


def appointment(appointment_id) -> Appointment:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(Appointment, appointment_id)


def test_a_cancellation_offers_the_time_to_the_booked_waiter_who_moves_there_for_free(
        doctor, make_user, admin, clock_at):
    waiter, theirs = booked(make_user, doctor, paris(3, 18))
    _other, freed = booked(make_user, doctor, paris(3, 10, 45))
    entry = waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 10))
    assert entry.booking_start == paris(3, 18) and entry.offer is None

    changes.cancel(admin.actor, freed, reason="Doctor unwell")  # owes the offer; runs after the commit

    offer, = offers()
    assert (offer.user_id, offer.start_at, offer.status) == (waiter.user.id, paris(3, 10, 45), "offered")
    assert offer.expires_at == clock.now() + timedelta(minutes=15)
    held = slot_holder(doctor, paris(3, 10, 45))
    assert held.locked_by == waiter.user.id and held.locked_until == offer.expires_at  # the hold of SPEC §3
    with unit_of_work(SYSTEM) as uow:
        email = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"waitlist-offer:{offer.id}:email"))
    assert email.recipient == waiter.email and "earlier time" in email.subject.lower()
    shown = waitlist.my_waitlist(waiter.actor)[0].offer
    assert shown.id == offer.id and shown.moves_booking

    answer = waitlist.accept_offer(waiter.actor, offer.id)

    assert (answer.outcome, answer.appointment_id, answer.start) == ("moved", theirs, paris(3, 10, 45))
    moved = appointment(theirs)
    assert (moved.start_at, moved.status, moved.reschedule_count) == (paris(3, 10, 45), "confirmed", 0)
    assert patient_overview(waiter.actor).month_reschedules == 0  # free: not towards the monthly cap
    history = changes.history(waiter.actor, theirs)
    assert history[-1].action == "reschedule" and history[-1].after["viaWaitlist"] is True
    assert offers()[0].status == "accepted" and waitlist.my_waitlist(waiter.actor) == []
    assert slot_holder(doctor, paris(3, 10, 45)).locked_by is None  # booked now, the hold given back


def test_only_earlier_times_are_offered_to_a_booked_waiter(doctor, make_user, admin, clock_at):
    waiter, _ = booked(make_user, doctor, paris(3, 10, 45))
    _other, later = booked(make_user, doctor, paris(3, 18))
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 10))
    changes.cancel(admin.actor, later, reason="Moved abroad")
    assert offers() == []


def test_a_declined_offer_goes_to_the_next_waiter_and_an_unanswered_one_expires(
        doctor, make_user, onboarded, admin, clock_at):
    first, second = onboarded(), onboarded()
    waitlist.join_waitlist(first.actor, doctor.doctor.id, date(2026, 3, 5))
    clock_at(clock.now() + timedelta(seconds=1))  # asked a second later: second in line
    waitlist.join_waitlist(second.actor, doctor.doctor.id, date(2026, 3, 5))
    _other, freed = booked(make_user, doctor, paris(3, 10, 45))
    changes.cancel(admin.actor, freed, reason="Family matter")
    offered_first, = offers(status="offered")
    assert offered_first.user_id == first.user.id

    waitlist.decline_offer(first.actor, offered_first.id)

    to_second, = offers(status="offered")
    assert to_second.user_id == second.user.id and to_second.start_at == paris(3, 10, 45)
    assert slot_holder(doctor, paris(3, 10, 45)).locked_by == second.user.id
    with pytest.raises(InvalidTransition):
        waitlist.accept_offer(first.actor, offered_first.id)  # declined is final

    clock_at(clock.now() + timedelta(minutes=16))
    assert waitlist.sweep_waitlist()["offersExpired"] == 1

    assert {o.status for o in offers()} == {"declined", "expired"}  # nobody left: no third offer
    assert slot_holder(doctor, paris(3, 10, 45)).locked_by is None
    with pytest.raises(InvalidTransition):
        waitlist.accept_offer(second.actor, to_second.id)


def test_a_waiter_without_a_booking_books_the_time_the_doctor_turns_on(doctor, onboarded, clock_at):
    waiter = onboarded()
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 3))
    doctor_slots.set_slot(doctor.actor, paris(3, 9))  # before the 10:00 template: turned on

    offer, = offers()
    assert offer.start_at == paris(3, 9)
    answer = waitlist.accept_offer(waiter.actor, offer.id)

    assert answer.outcome == "booked"
    pending = appointment(answer.appointment_id)
    assert (pending.status, pending.start_at) == ("pending", paris(3, 9))
    assert pending.hold_expires_at > clock.now()


def test_an_expired_hold_frees_its_time_for_the_waitlist(doctor, onboarded, clock_at):
    from core.booking.pending import create_pending

    holder, waiter = onboarded(), onboarded()
    create_pending(holder.actor, doctor.doctor.id, paris(3, 10, 45))
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 3))
    clock_at(clock.now() + timedelta(minutes=16))
    unlock_stale_slots()
    offer, = offers()
    assert (offer.user_id, offer.start_at) == (waiter.user.id, paris(3, 10, 45))


def test_a_start_too_close_to_now_is_not_offered(doctor, make_user, onboarded, admin, add_slots, clock_at):
    waiter = onboarded()
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 2))
    add_slots(doctor.doctor.id, [paris(2, 9, 15)])
    _other, freed = booked(make_user, doctor, paris(2, 9, 15))
    clock_at(paris(2, 8, 11))  # 64 minutes ahead: under the notice + 5 minutes to answer
    changes.cancel(admin.actor, freed, reason="Sick")
    assert offers() == []
    assert waitlist.offer_freed_start(str(doctor.doctor.id), paris(2, 9, 15).isoformat()) == "too_soon"


def test_the_offer_lasts_no_longer_than_the_booking_notice(doctor, make_user, onboarded, admin, add_slots, clock_at):
    waiter = onboarded()
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 2))
    add_slots(doctor.doctor.id, [paris(2, 9, 15)])
    _other, freed = booked(make_user, doctor, paris(2, 9, 15))
    clock_at(paris(2, 8, 5))
    changes.cancel(admin.actor, freed, reason="Sick")
    offer, = offers()
    assert offer.expires_at == paris(2, 8, 15)  # start − 60 min, before the 15 minutes are up


def test_offering_the_same_start_again_does_nothing(doctor, make_user, onboarded, admin, clock_at):
    first, second = onboarded(), onboarded()
    for patient in (first, second):
        waitlist.join_waitlist(patient.actor, doctor.doctor.id, date(2026, 3, 5))
    _other, freed = booked(make_user, doctor, paris(3, 10, 45))
    changes.cancel(admin.actor, freed, reason="Sick")
    assert waitlist.offer_freed_start(str(doctor.doctor.id), paris(3, 10, 45).isoformat()) == "already_offered"
    assert len(offers()) == 1


def test_offers_are_owed_so_nothing_is_lost_when_the_dispatch_fails(doctor, make_user, onboarded, admin, clock_at):
    waiter = onboarded()
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 5))
    _other, freed = booked(make_user, doctor, paris(3, 10, 45))

    def redis_down(*_args):
        raise ConnectionError("Redis is down")

    redis_down.owed = redis_down
    previous = tasks.set_dispatcher(redis_down)
    try:
        changes.cancel(admin.actor, freed, reason="Sick")
    finally:
        tasks.set_dispatcher(previous)
    assert offers() == []
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(func.count()).select_from(OwedEffect).where(
            OwedEffect.task == waitlist.OFFER_TASK, OwedEffect.status == "pending")) == 1

    sweep_owed(clock.now() + timedelta(minutes=1))

    offer, = offers()
    assert offer.user_id == waiter.user.id


def test_leaving_the_waitlist_lapses_the_offer_and_passes_it_on(doctor, make_user, onboarded, admin, clock_at):
    first, second = onboarded(), onboarded()
    entry = waitlist.join_waitlist(first.actor, doctor.doctor.id, date(2026, 3, 5))
    clock_at(clock.now() + timedelta(seconds=1))  # asked a second later: second in line
    waitlist.join_waitlist(second.actor, doctor.doctor.id, date(2026, 3, 5))
    _other, freed = booked(make_user, doctor, paris(3, 10, 45))
    changes.cancel(admin.actor, freed, reason="Sick")
    waitlist.leave_waitlist(first.actor, entry.id)
    assert {(o.user_id, o.status) for o in offers()} == {(first.user.id, "lapsed"), (second.user.id, "offered")}


def test_entries_end_after_their_date(doctor, onboarded, clock_at):
    waiter = onboarded()
    waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 2))
    clock_at(paris(3, 0, 1))
    assert waitlist.sweep_waitlist()["entriesEnded"] == 1
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(WaitlistEntry.status)) == "expired"


def test_asking_again_changes_the_date_and_bad_dates_are_refused(doctor, onboarded, clock_at):
    waiter = onboarded()
    first = waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 5))
    again = waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 9))
    assert again.id == first.id and again.until_at == paris(10, 0)
    with pytest.raises(ValidationFailed):
        waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 3, 1))
    with pytest.raises(ValidationFailed):
        waitlist.join_waitlist(waiter.actor, doctor.doctor.id, date(2026, 6, 1))


def test_patients_never_see_each_others_entries_or_offers(doctor, make_user, onboarded, admin, clock_at):
    first, second = onboarded(), onboarded()
    waitlist.join_waitlist(first.actor, doctor.doctor.id, date(2026, 3, 5))
    _other, freed = booked(make_user, doctor, paris(3, 10, 45))
    changes.cancel(admin.actor, freed, reason="Sick")
    offer, = offers()
    with unit_of_work(second.actor) as uow:
        assert uow.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 0
        assert uow.session.scalar(select(func.count()).select_from(WaitlistOffer)) == 0
    with pytest.raises(NotFound):
        waitlist.accept_offer(second.actor, offer.id)
    with pytest.raises(NotFound):
        waitlist.leave_waitlist(Actor(second.user.id, "patient"), waitlist.my_waitlist(first.actor)[0].id)
