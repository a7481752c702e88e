"""See a doctor now (SPEC §17): the queue, accepting, leaving, the max wait, going Offline, RLS."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core import clock, tasks
from core.actor import SYSTEM
from core.db import unit_of_work
from core.errors import DoctorBusy, Forbidden, InvalidTransition, NoDoctorAvailable, ProfileIncomplete
from core.models import Appointment, CreditEntry, Payment, WalkinRequest
from core.payments import credits
from core.payments.local_checkout import deliver_success
from core.scheduling import doctor_slots
from core.walkin import queue
from tests.integration.walkin.conftest import pay_by_card


@pytest.fixture
def deferred():
    calls: list[tuple[str, tuple, dict]] = []
    previous = tasks.set_dispatcher(lambda path, args, kwargs: calls.append((path, args, kwargs)))
    yield calls
    tasks.set_dispatcher(previous)


def _row(request_id) -> WalkinRequest:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(WalkinRequest, request_id)


def _payment(payment_id) -> Payment:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(Payment, payment_id)


def test_the_first_paid_patient_is_accepted_first_into_an_appointment_starting_now(taking, waiting, clock_at,
                                                                                   time_machine):
    doctor = taking()
    first, first_req = waiting()
    time_machine.shift(timedelta(seconds=30))
    _second, second_req = waiting()
    assert queue.request_view(first.actor, first_req.request_id).position == 1
    assert queue.request_view(_second.actor, second_req.request_id).position == 2
    head = queue.doctor_queue(doctor.actor).next_patient
    assert head.queue_length == 2 and head.waiting_seconds == 30 and head.readiness == "not_tested"

    accepted = queue.accept_next(doctor.actor)

    assert accepted.request_id == first_req.request_id
    row = _row(first_req.request_id)
    assert (row.status, row.doctor_id, row.appointment_id) == ("accepted", doctor.doctor.id, accepted.appointment_id)
    with unit_of_work(SYSTEM) as uow:
        appointment = uow.session.get(Appointment, accepted.appointment_id)
        assert appointment.start_at == clock.now()  # no 60-minute notice
        assert appointment.end_at - appointment.start_at == timedelta(minutes=30)
        assert (appointment.status, appointment.patient_id) == ("confirmed", first.patient.id)
    assert _payment(row.payment_id).appointment_id == accepted.appointment_id
    view = queue.request_view(first.actor, first_req.request_id)
    assert view.status == "accepted" and view.appointment_id == accepted.appointment_id
    assert queue.request_view(_second.actor, second_req.request_id).position == 1


def test_the_45_minute_guard_still_applies_a_doctor_with_a_booking_soon_is_not_offered_walkins(
        taking, waiting, onboarded, clock_at):
    doctor = taking()
    waiting()
    assert queue.availability().available == 1
    booked = onboarded()
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(Appointment(doctor_id=doctor.doctor.id, patient_id=booked.patient.id,
                                    start_at=clock.now() + timedelta(minutes=40),
                                    end_at=clock.now() + timedelta(minutes=70), status="confirmed"))
    assert queue.availability().available == 0
    assert queue.doctor_queue(doctor.actor).free is False
    with pytest.raises(DoctorBusy):
        queue.accept_next(doctor.actor)


def test_nobody_waiting_accept_returns_none_and_unpaid_requests_are_not_in_the_queue(taking, onboarded, clock_at):
    doctor = taking()
    patient = onboarded()
    started = queue.start_request(patient.actor)
    assert started.checkout_url and _row(started.request_id).status == "unpaid"
    assert queue.accept_next(doctor.actor) is None
    assert queue.doctor_queue(doctor.actor).next_patient is None


def test_the_button_needs_a_health_profile_and_a_free_doctor(taking, make_user, onboarded, clock_at):
    with pytest.raises(ProfileIncomplete):
        queue.start_request(make_user("patient").actor)
    with pytest.raises(NoDoctorAvailable):
        queue.start_request(onboarded().actor)
    taking()
    assert queue.start_request(onboarded().actor).checkout_url


def test_leaving_before_acceptance_refunds_the_card_in_full_once(taking, waiting, deferred, clock_at):
    taking()
    patient, started = waiting()
    deferred.clear()
    assert queue.leave(patient.actor, started.request_id) == "left"
    assert queue.leave(patient.actor, started.request_id) == "left"  # twice: still one refund
    row = _row(started.request_id)
    payment = _payment(row.payment_id)
    assert (payment.status, payment.refunded_cents) == ("refunded", 3500)
    refunds = [c for c in deferred if c[0] == "core.payments.refunds.execute_refund"]
    assert refunds == [("core.payments.refunds.execute_refund",
                        (str(payment.id), 3500, f"refund:{payment.id}:3500"),
                        {"reason": "left the queue before a doctor accepted"})]
    assert [c[0] for c in deferred].count("core.walkin.notices.notify_walkin_refunded") == 1


def test_a_credit_payment_joins_the_queue_and_leaving_gives_the_credit_back(taking, onboarded, clock_at):
    taking()
    patient = onboarded()
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="test")
    started = queue.start_request(patient.actor, by_card=False)
    assert queue.pay_with_credit(patient.actor, started.request_id) == "walkin_waiting"
    with unit_of_work(SYSTEM) as uow:
        assert credits.balance(uow.session, patient.user.id) == 0
    queue.leave(patient.actor, started.request_id)
    with unit_of_work(SYSTEM) as uow:
        assert credits.balance(uow.session, patient.user.id) == 3500
        kinds = uow.session.scalars(select(CreditEntry.kind).where(CreditEntry.user_id == patient.user.id)).all()
    assert sorted(kinds) == ["grant", "refund_credit", "spend"]


def test_a_payment_arriving_after_the_patient_left_is_refunded(taking, onboarded, deferred, clock_at):
    taking()
    patient = onboarded()
    started = queue.start_request(patient.actor)
    row = _row(started.request_id)
    payment = _payment(row.payment_id)
    assert queue.leave(patient.actor, started.request_id) == "cancelled"
    # Stripe completed the session before it could be expired: the money goes back.
    outcome = deliver_success(payment.provider_session_id, 3500,
                              {"walkin_id": str(row.id), "payment_id": str(payment.id)})
    assert outcome.outcome == "walkin_refunded_late"
    assert _payment(payment.id).status == "refunded"


def test_after_the_max_wait_the_patient_is_offered_keep_waiting_or_a_refund_and_emailed_once(
        taking, waiting, deferred, clock_at, time_machine):
    taking()
    patient, started = waiting()
    time_machine.shift(timedelta(minutes=14, seconds=59))
    assert queue.request_view(patient.actor, started.request_id).refund_offered is False
    assert queue.offer_refunds_after_max_wait() == 0
    time_machine.shift(timedelta(seconds=1))  # WALKIN_MAX_WAIT = 15 min
    assert queue.request_view(patient.actor, started.request_id).refund_offered is True
    assert queue.offer_refunds_after_max_wait() == 1
    assert queue.offer_refunds_after_max_wait() == 0  # one email per request
    queue.keep_waiting(patient.actor, started.request_id)
    assert queue.request_view(patient.actor, started.request_id).refund_offered is False
    time_machine.shift(timedelta(minutes=15))
    assert queue.request_view(patient.actor, started.request_id).refund_offered is True
    assert queue.leave(patient.actor, started.request_id) == "left"  # takes the refund
    assert _payment(_row(started.request_id).payment_id).status == "refunded"
    with pytest.raises(InvalidTransition):
        accepted_patient, accepted_req = waiting()
        doctor = taking("Dr Two")
        queue.accept_next(doctor.actor)
        queue.leave(accepted_patient.actor, accepted_req.request_id)  # too late once accepted


def test_a_doctor_going_offline_stops_taking_and_waiting_patients_are_offered_the_refund(
        taking, waiting, clock_at):
    doctor = taking()
    patient, started = waiting()
    assert queue.request_view(patient.actor, started.request_id).doctors_taking == 1
    doctor_slots.set_online(doctor.actor, False)
    view = queue.request_view(patient.actor, started.request_id)
    assert view.status == "waiting" and view.doctors_taking == 0 and view.refund_offered is True
    assert queue.availability().available == 0
    with pytest.raises(Forbidden):
        queue.accept_next(doctor.actor)
    assert queue.set_taking_now(doctor.actor, True) is False  # only while Online
    doctor_slots.set_online(doctor.actor, True)
    assert queue.set_taking_now(doctor.actor, True) is True
    assert queue.accept_next(doctor.actor).request_id == started.request_id


def _visible_requests(actor) -> set:
    with unit_of_work(actor) as uow:
        return set(uow.session.execute(text("SELECT id FROM walkin_requests")).scalars())


def test_rls_patients_never_see_each_other_in_the_queue(taking, waiting, make_user, clock_at):
    doctor = taking()
    a, a_req = waiting()
    b, b_req = waiting()
    assert _visible_requests(a.actor) == {a_req.request_id}
    assert _visible_requests(b.actor) == {b_req.request_id}
    idle = make_user("doctor")
    assert _visible_requests(idle.actor) == set()  # not taking consultations: sees nobody
    assert _visible_requests(doctor.actor) == {a_req.request_id, b_req.request_id}
    # A patient cannot mark their own request accepted, nor a doctor accept for someone else.
    with pytest.raises(Exception), unit_of_work(a.actor) as uow:  # noqa: B017
        uow.session.execute(text("UPDATE walkin_requests SET status = 'left' WHERE id = :i"), {"i": a_req.request_id})
        assert uow.session.execute(text("SELECT status FROM walkin_requests WHERE id = :i"),
                                   {"i": a_req.request_id}).scalar() == "waiting"
        raise RuntimeError("no row changed")
    with pytest.raises(Exception), unit_of_work(doctor.actor) as uow:  # noqa: B017
        uow.session.execute(text("UPDATE walkin_requests SET status = 'accepted', doctor_id = :d, "
                                 "appointment_id = NULL WHERE id = :i"), {"d": idle.doctor.id, "i": a_req.request_id})


def test_pay_by_card_helper_is_the_real_webhook_path(taking, onboarded, clock_at):
    taking()
    patient = onboarded()
    started = pay_by_card(patient)
    payment = _payment(_row(started.request_id).payment_id)
    assert (payment.status, payment.provider, payment.appointment_id) == ("succeeded", "local", None)


def test_the_console_shows_the_queue_and_alerts_on_waits_over_the_max(taking, waiting, make_user, clock_at,
                                                                      time_machine):
    from core.metrics import alerts

    admin = make_user("admin")
    taking()
    waiting()
    time_machine.shift(timedelta(minutes=16))
    waiting()
    stats = queue.queue_stats(admin.actor)
    assert (stats.waiting, stats.over_max_wait, stats.longest_wait_seconds // 60) == (2, 1, 16)
    feed = alerts.alert_feed(admin.actor, now=clock.now(), failed_jobs=0)
    walkin = [a for a in feed if a.code == "walkins_waiting_too_long"]
    assert walkin and walkin[0].severity == "critical" and "1 patient waiting over 15 min" in walkin[0].title
    with pytest.raises(Forbidden):
        queue.queue_stats(make_user("patient").actor)


def test_a_doctor_under_review_or_suspended_takes_no_walkins(make_user, onboarded, clock_at):
    """SPEC §19: an unapproved or suspended doctor is neither listed nor bookable — walk-ins included."""
    for status in ("pending", "suspended"):
        doctor = make_user("doctor", full_name=f"Dr {status.title()}", timezone="Europe/Paris")
        with unit_of_work(SYSTEM) as uow:
            uow.session.execute(text("UPDATE doctors SET status = :s WHERE id = :d"),
                                {"s": status, "d": doctor.doctor.id})
        assert queue.set_taking_now(doctor.actor, True) is False
        with pytest.raises(NoDoctorAvailable):
            queue.start_request(onboarded().actor)
