"""Reschedule and cancellation (SPEC §5) through the services and the API: the policy's edges, the
refunds and credits, the history, one transaction per change, who may change what, races.

The clock is Monday 2 March 2026, 08:00 in Paris; the paid appointment is Tuesday 3 March, 14:00.
"""

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from core import clock, tasks
from core import db as core_db
from core.actor import SYSTEM, Actor
from core.booking import changes
from core.booking.changes import cancel, history, reschedule
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.errors import Forbidden, InvalidTransition, MaxReschedules, SlotConflict, TimeWindow, ValidationFailed
from core.models import Appointment, AppointmentChange, AuditEvent, CreditEntry, Doctor, Payment, Slot
from core.payments import credits
from core.scheduling.availability import doctor_availability
from core.scheduling.engine import Availability
from tests.integration.scheduling.conftest import paris

AVAILABILITY = "/api/doctors/{}/unified-availability"
RESCHEDULE = "/api/appointments/{}/reschedule"
CANCEL = "/api/appointments/{}/cancel"
HISTORY = "/api/appointments/{}/history"
TUESDAY_2PM = paris(3, 14)


def make_paid(doctor, patient, start=TUESDAY_2PM, *, provider="local", amount=3500):
    """A confirmed appointment and its succeeded payment, as the webhook leaves them."""
    with unit_of_work(SYSTEM) as uow:
        appointment = Appointment(doctor_id=doctor.doctor.id, patient_id=patient.patient.id, start_at=start,
                                  end_at=start + timedelta(minutes=30), status="confirmed", price_cents=amount)
        uow.session.add(appointment)
        uow.session.flush()
        payment = Payment(user_id=patient.user.id, appointment_id=appointment.id, kind="visit", provider=provider,
                          status="succeeded", amount_cents=amount,
                          provider_payment_id="pi_local_test" if provider == "local" else None)
        uow.session.add(payment)
        uow.session.flush()
        if provider == "credit":
            credits.add_entry(uow.session, patient.user.id, "grant", amount, note="test grant")
            credits.add_entry(uow.session, patient.user.id, "spend", -amount, appointment_id=appointment.id,
                              payment_id=payment.id)
        return appointment.id, payment.id


def load(model, key):
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(model, key)


def rows(model, *where):
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalars(select(model).where(*where)).all()


def change_rows(appointment_id):
    return rows(AppointmentChange, AppointmentChange.appointment_id == appointment_id)


def audit_rows(appointment_id):
    return rows(AuditEvent, AuditEvent.subject_type == "appointment", AuditEvent.subject_id == str(appointment_id))


def ledger(user_id):
    """The user's credit entries as (kind, cents), sorted (one test transaction: one timestamp)."""
    with unit_of_work(SYSTEM) as uow:
        return sorted((e.kind, e.amount_cents) for e in uow.session.scalars(
            select(CreditEntry).where(CreditEntry.user_id == user_id)))


def available_starts(client, doctor_id, day: int) -> set[datetime]:
    """Every free start of the day — what a hold or a reschedule accepts — not only the 45-minute
    rhythm patients are shown (the API's list, checked against these below)."""
    body = client.get(AVAILABILITY.format(doctor_id), query_string={
        "from": paris(day, 0).isoformat(), "to": paris(day + 1, 0).isoformat()}).get_json()
    shown = {datetime.fromisoformat(s["start"]) for s in body["slots"] if s["isAvailable"]}
    free = {s.start for s in doctor_availability(SYSTEM, doctor_id, paris(day, 0), paris(day + 1, 0),
                                                 rhythm=False).slots if s.is_available}
    assert shown <= free
    return free


def envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.fixture
def deferred():
    """The side effects deferred until after commit (the gateway refund), recorded instead of queued."""
    calls: list[tuple[str, tuple, dict]] = []
    previous = tasks.set_dispatcher(lambda path, args, kwargs: calls.append((path, args, kwargs)))
    yield calls
    tasks.set_dispatcher(previous)


@pytest.fixture
def signed_in(client, login, csrf_header):
    """Sign the test client in as someone (signing out whoever was signed in); returns the CSRF header."""

    def as_user(made) -> dict:
        client.delete_cookie("doktu_session")
        login(made.email)
        return csrf_header()

    return as_user


# --- reschedule ---------------------------------------------------------------------------------

def test_a_patient_reschedules_twice_and_the_third_is_err_max_reschedules(client, doctor, onboarded, signed_in,
                                                                         add_slots):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    headers = signed_in(patient)
    first = client.patch(RESCHEDULE.format(appointment_id), json={"newStart": paris(3, 16).isoformat()},
                         headers=headers)
    assert first.status_code == 200, first.get_json()
    moved = first.get_json()["appointment"]
    assert datetime.fromisoformat(moved["start"]) == paris(3, 16)
    assert datetime.fromisoformat(moved["end"]) == paris(3, 16, 30)
    assert (moved["status"], moved["rescheduleCount"]) == ("confirmed", 1)

    add_slots(doctor.doctor.id, [paris(4, 11)])  # the doctor's own slot on Wednesday, by id
    slot_id = rows(Slot, Slot.doctor_id == doctor.doctor.id)[0].id
    second = client.patch(RESCHEDULE.format(appointment_id), json={"newSlotId": str(slot_id)}, headers=headers)
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["appointment"]["slotId"] == str(slot_id)
    assert second.get_json()["appointment"]["rescheduleCount"] == 2

    third = client.patch(RESCHEDULE.format(appointment_id), json={"newStart": paris(5, 10).isoformat()},
                         headers=headers)
    envelope(third, 422, "ERR_MAX_RESCHEDULES")
    row = load(Appointment, appointment_id)
    assert (row.start_at, row.reschedule_count) == (paris(4, 11), 2)
    assert len(change_rows(appointment_id)) == 2


def test_the_old_time_is_freed_and_the_new_time_blocked_in_availability(client, doctor, onboarded):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    free = available_starts(client, doctor.doctor.id, 3)
    assert paris(3, 14) not in free and paris(3, 16) in free
    reschedule(patient.actor, appointment_id, new_start=paris(3, 16))
    free = available_starts(client, doctor.doctor.id, 3)
    assert {paris(3, 13, 30), paris(3, 14), paris(3, 14, 30)} <= free  # the old buffer is free again
    assert not any(paris(3, 15, 30) <= s <= paris(3, 16, 30) for s in free)  # ±45 min around 16:00
    assert paris(3, 15, 15) in free and paris(3, 16, 45) in free


@pytest.mark.parametrize("minutes", [15, 30, -30, 45])
def test_an_appointment_moves_within_its_own_buffer(doctor, onboarded, minutes):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    moved = reschedule(patient.actor, appointment_id, new_start=TUESDAY_2PM + timedelta(minutes=minutes))
    assert moved.start == TUESDAY_2PM + timedelta(minutes=minutes)


def test_a_time_near_another_appointment_is_err_slot_conflict_and_nothing_changes(doctor, onboarded, book):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    book(doctor.doctor.id, paris(3, 17))
    for start in (paris(3, 17), paris(3, 16, 30), paris(3, 17, 30)):
        with pytest.raises(SlotConflict):
            reschedule(patient.actor, appointment_id, new_start=start)
    assert load(Appointment, appointment_id).start_at == TUESDAY_2PM
    assert change_rows(appointment_id) == [] and audit_rows(appointment_id) == []


def test_the_double_booking_trigger_is_the_last_guard(doctor, onboarded, book, monkeypatch):
    """Even if the engine's check were wrong, the database refuses a start within 45 min of another
    active appointment: 23P01 becomes ERR_SLOT_CONFLICT and nothing is written."""
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    book(doctor.doctor.id, paris(3, 17))

    def engine_says_yes(_session, _actor, _appointment, new_start, _now, _patient):
        return Availability(new_start, new_start + timedelta(minutes=30), True, False)

    monkeypatch.setattr(changes, "_offered", engine_says_yes)
    with pytest.raises(SlotConflict):
        reschedule(patient.actor, appointment_id, new_start=paris(3, 17, 15))
    assert load(Appointment, appointment_id).start_at == TUESDAY_2PM
    assert change_rows(appointment_id) == [] and audit_rows(appointment_id) == []


def test_a_time_outside_the_doctors_hours_or_held_by_someone_else_is_refused(doctor, onboarded):
    patient, other = onboarded(), onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    with pytest.raises(SlotConflict):
        reschedule(patient.actor, appointment_id, new_start=paris(3, 23))  # after 21:00
    create_pending(other.actor, doctor.doctor.id, paris(4, 10))  # another patient holds Wednesday 10:00
    with pytest.raises(SlotConflict):
        reschedule(patient.actor, appointment_id, new_start=paris(4, 10, 30))


def test_rescheduling_exactly_60_minutes_before_is_allowed_and_59_is_err_time_window(client, doctor, onboarded,
                                                                                      clock_at, signed_in):
    patient = onboarded()
    early, _ = make_paid(doctor, patient)
    late, _ = make_paid(doctor, patient, paris(3, 18))
    clock_at(paris(3, 13))  # exactly 60 minutes before 14:00
    assert reschedule(patient.actor, early, new_start=paris(3, 20)).start == paris(3, 20)
    clock_at(paris(3, 17, 1))  # 59 minutes before 18:00
    headers = signed_in(patient)
    response = client.patch(RESCHEDULE.format(late), json={"newStart": paris(3, 20, 45).isoformat()},
                            headers=headers)
    envelope(response, 422, "ERR_TIME_WINDOW")


def test_the_new_time_needs_the_60_minute_notice(doctor, onboarded, clock_at):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient, paris(3, 18))
    clock_at(paris(3, 10))
    with pytest.raises(TimeWindow):
        reschedule(patient.actor, appointment_id, new_start=paris(3, 10, 45))
    assert reschedule(patient.actor, appointment_id, new_start=paris(3, 11)).start == paris(3, 11)


def test_the_sixth_reschedule_of_a_month_is_refused_and_april_starts_afresh(doctor, onboarded, clock_at):
    patient = onboarded()
    march_3, _ = make_paid(doctor, patient, paris(3, 14))
    march_4, _ = make_paid(doctor, patient, paris(4, 14))
    april_2, _ = make_paid(doctor, patient, paris(2, 14, month=4))
    april_3, _ = make_paid(doctor, patient, paris(3, 14, month=4))
    for appointment_id, day in ((march_3, 3), (march_4, 4)):
        reschedule(patient.actor, appointment_id, new_start=paris(day, 16))
        reschedule(patient.actor, appointment_id, new_start=paris(day, 18))
    reschedule(patient.actor, april_2, new_start=paris(2, 16, month=4))  # the 5th in March
    with pytest.raises(MaxReschedules) as refused:
        reschedule(patient.actor, april_2, new_start=paris(2, 18, month=4))  # the 6th
    assert refused.value.details["limit"] == "month"
    # A doctor's move does not count against the patient's allowance, nor is it capped by it.
    assert reschedule(doctor.actor, april_2, new_start=paris(2, 18, month=4)).reschedule_count == 2
    clock_at(paris(1, 0, 1, month=4))  # a minute into April in Paris
    assert reschedule(patient.actor, april_3, new_start=paris(3, 16, month=4)).reschedule_count == 1


def test_a_cap_of_zero_is_no_cap(doctor, onboarded):
    patient = onboarded()
    ids = [make_paid(doctor, patient, paris(day, 14))[0] for day in (3, 4, 5)]
    for appointment_id, day in zip(ids, (3, 4, 5), strict=True):
        for hour in (16, 18):
            reschedule(patient.actor, appointment_id, new_start=paris(day, hour), monthly_cap=0)
    assert all(load(Appointment, i).reschedule_count == 2 for i in ids)


def test_only_a_paid_appointment_is_rescheduled(doctor, onboarded):
    patient = onboarded()
    pending = create_pending(patient.actor, doctor.doctor.id, TUESDAY_2PM)
    with pytest.raises(InvalidTransition):
        reschedule(patient.actor, pending.id, new_start=paris(3, 16))


def test_the_doctor_and_an_admin_move_an_appointment_even_while_the_doctor_is_offline(doctor, onboarded, make_user):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    with unit_of_work(SYSTEM) as uow:
        uow.session.get(Doctor, doctor.doctor.id).online = False
    moved = reschedule(doctor.actor, appointment_id, new_start=paris(3, 16), reason="Clinic overran")
    assert moved.start == paris(3, 16)
    with pytest.raises(SlotConflict):  # the patient books only what an online doctor offers
        reschedule(patient.actor, appointment_id, new_start=paris(3, 18))
    admin = make_user("admin")
    assert reschedule(admin.actor, appointment_id, new_start=paris(3, 18)).reschedule_count == 2
    change = change_rows(appointment_id)[0]
    assert (change.actor_role, change.actor_id, change.reason) == ("doctor", doctor.user.id, "Clinic overran")


# --- cancel -------------------------------------------------------------------------------------

def test_a_patient_cancels_and_the_card_refund_is_recorded_and_sent_after_commit(client, doctor, onboarded,
                                                                                signed_in, deferred):
    patient = onboarded()
    appointment_id, payment_id = make_paid(doctor, patient)
    headers = signed_in(patient)
    response = client.patch(CANCEL.format(appointment_id), json={"reason": "Feeling better"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["refundAs"], body["refundedCents"], body["creditCents"]) == ("card", 3500, 0)
    assert body["appointment"]["status"] == "cancelled" and body["appointment"]["cancelledBy"] == "patient"
    payment = load(Payment, payment_id)
    assert (payment.status, payment.refunded_cents) == ("refunded", 3500)
    refunds = [c for c in deferred if c[0] == "core.payments.refunds.execute_refund"]
    assert refunds == [("core.payments.refunds.execute_refund", (str(payment_id), 3500, f"refund:{payment_id}:3500"),
                        {"reason": "appointment cancelled by the patient"})]
    row = load(Appointment, appointment_id)
    assert (row.status, row.cancelled_by, row.cancel_reason, row.cancelled_at) == (
        "cancelled", "patient", "Feeling better", clock.now())
    assert paris(3, 14) in available_starts(client, doctor.doctor.id, 3)
    assert ledger(patient.user.id) == []


def test_a_patient_may_take_credit_instead(doctor, onboarded, deferred):
    patient = onboarded()
    appointment_id, payment_id = make_paid(doctor, patient)
    done = cancel(patient.actor, appointment_id, None, refund_as="credit")
    assert (done.refund.refund_as, done.refund.refund_cents, done.refund.credit_cents) == ("credit", 0, 3500)
    assert ledger(patient.user.id) == [("refund_credit", 3500)]
    entry = rows(CreditEntry, CreditEntry.user_id == patient.user.id)[0]
    assert (entry.appointment_id, entry.payment_id) == (appointment_id, payment_id)
    payment = load(Payment, payment_id)  # the money stays paid: it became credit, not a card refund
    assert (payment.status, payment.refunded_cents) == ("succeeded", 0)
    assert [path for path, _, _ in deferred] == ["jobs.notify.appointment_event"]  # the notice, no gateway refund
    with unit_of_work(SYSTEM) as uow:
        assert credits.balance(uow.session, patient.user.id) == 3500


def test_a_patient_cancels_up_to_exactly_60_minutes_before(client, doctor, onboarded, clock_at, signed_in):
    patient = onboarded()
    at_two, _ = make_paid(doctor, patient)
    appointment_id, payment_id = make_paid(doctor, patient, paris(3, 16))
    clock_at(paris(3, 13))  # exactly 60 minutes before 14:00
    assert cancel(patient.actor, at_two).refund.refund_cents == 3500
    clock_at(paris(3, 15, 1))  # 59 minutes before 16:00
    headers = signed_in(patient)
    envelope(client.patch(CANCEL.format(appointment_id), json={}, headers=headers), 422, "ERR_TIME_WINDOW")
    assert load(Appointment, appointment_id).status == "confirmed"
    assert load(Payment, payment_id).refunded_cents == 0


def test_a_doctor_needs_a_reason_and_a_late_cancellation_adds_10_euros_credit(client, doctor, onboarded, clock_at,
                                                                             signed_in, deferred):
    patient = onboarded()
    appointment_id, payment_id = make_paid(doctor, patient)
    clock_at(paris(3, 13, 30))  # 30 minutes before
    headers = signed_in(doctor)
    for body in ({}, {"reason": "  "}):
        envelope(client.patch(CANCEL.format(appointment_id), json=body, headers=headers), 422, "ERR_VALIDATION")
    response = client.patch(CANCEL.format(appointment_id), json={"reason": "Called to an emergency"},
                            headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["refundAs"], body["refundedCents"], body["creditCents"], body["lateCreditCents"]) == (
        "card", 3500, 1000, 1000)
    assert body["appointment"]["cancelledBy"] == "doctor"
    assert (load(Payment, payment_id).status, load(Payment, payment_id).refunded_cents) == ("refunded", 3500)
    assert ledger(patient.user.id) == [("late_credit", 1000)]
    assert [c[1][1] for c in deferred if c[0].endswith("execute_refund")] == [3500]


def test_a_doctor_cancelling_60_minutes_or_more_before_refunds_only(doctor, onboarded, clock_at):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    clock_at(paris(3, 13))  # exactly 60 minutes before
    done = cancel(doctor.actor, appointment_id, "Sick")
    assert (done.refund.refund_cents, done.refund.total_credit_cents) == (3500, 0)
    assert ledger(patient.user.id) == []


def test_an_admin_cancels_any_time_with_a_full_refund(doctor, onboarded, make_user, clock_at):
    patient, admin = onboarded(), make_user("admin")
    appointment_id, _ = make_paid(doctor, patient)
    clock_at(paris(3, 13, 50))
    done = cancel(admin.actor, appointment_id)
    assert (done.refund.refund_as, done.refund.refund_cents, done.refund.total_credit_cents) == ("card", 3500, 0)
    assert done.appointment.cancelled_by == "admin"


def test_a_credit_paid_appointment_is_refunded_as_credit(doctor, onboarded, deferred):
    patient = onboarded()
    appointment_id, payment_id = make_paid(doctor, patient, provider="credit")
    done = cancel(patient.actor, appointment_id, refund_as="card")
    assert (done.refund.refund_as, done.refund.refund_cents, done.refund.credit_cents) == ("credit", 0, 3500)
    assert ledger(patient.user.id) == [("grant", 3500), ("refund_credit", 3500), ("spend", -3500)]
    payment = load(Payment, payment_id)
    assert (payment.status, payment.refunded_cents) == ("refunded", 3500)
    assert [path for path, _, _ in deferred] == ["jobs.notify.appointment_event"]  # the notice; no gateway involved


def test_an_unpaid_hold_is_just_cancelled_and_its_time_freed(client, doctor, onboarded, clock_at):
    patient = onboarded()
    pending = create_pending(patient.actor, doctor.doctor.id, TUESDAY_2PM)
    assert paris(3, 14) not in available_starts(client, doctor.doctor.id, 3)
    clock_at(paris(3, 13, 30))  # inside 60 minutes: giving back an unpaid hold is always fine
    done = cancel(patient.actor, pending.id, "Changed my mind")
    assert done.refund.refund_as == "none" and done.appointment.status == "cancelled"
    assert load(Slot, pending.slot_id).locked_by is None
    clock_at(paris(3, 8))
    assert paris(3, 14) in available_starts(client, doctor.doctor.id, 3)


def test_cancelling_twice_or_a_completed_appointment_is_err_invalid_state(client, doctor, onboarded, signed_in):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    cancel(patient.actor, appointment_id)
    headers = signed_in(patient)
    envelope(client.patch(CANCEL.format(appointment_id), json={}, headers=headers), 409, "ERR_INVALID_STATE")
    envelope(client.patch(RESCHEDULE.format(appointment_id), json={"newStart": paris(3, 16).isoformat()},
                          headers=headers), 409, "ERR_INVALID_STATE")
    assert len(change_rows(appointment_id)) == 1
    done_id, _ = make_paid(doctor, patient, paris(4, 14))
    with unit_of_work(SYSTEM) as uow:
        uow.session.get(Appointment, done_id).status = "completed"
    with pytest.raises(InvalidTransition):
        cancel(patient.actor, done_id)


# --- history, and one transaction per change ----------------------------------------------------

def test_history_lists_the_changes_in_order(client, doctor, onboarded, clock_at, signed_in, make_user):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    reschedule(patient.actor, appointment_id, new_start=paris(3, 16), reason="Meeting moved")
    reschedule(doctor.actor, appointment_id, new_start=paris(3, 17))  # same instant: order still right
    clock_at(paris(2, 9))
    cancel(patient.actor, appointment_id, "Feeling better", refund_as="credit")
    listed = history(patient.actor, appointment_id)
    assert [(c.action, c.actor_role) for c in listed] == [
        ("reschedule", "patient"), ("reschedule", "doctor"), ("cancel", "patient")]
    assert datetime.fromisoformat(listed[0].before["start"]) == TUESDAY_2PM
    assert datetime.fromisoformat(listed[0].after["start"]) == paris(3, 16)
    assert (listed[2].before["status"], listed[2].after["status"]) == ("confirmed", "cancelled")
    for who in (patient, doctor, make_user("admin")):
        headers = signed_in(who)
        body = client.get(HISTORY.format(appointment_id), headers=headers).get_json()
        assert [c["action"] for c in body["changes"]] == ["reschedule", "reschedule", "cancel"]
        assert body["changes"][0]["reason"] == "Meeting moved" and body["changes"][0]["actorRole"] == "patient"
        assert body["changes"][0]["createdAt"].startswith("2026-03-02T07:00:00")  # 08:00 in Paris
        assert body["changes"][2]["createdAt"].startswith("2026-03-02T08:00:00")
    audits = audit_rows(appointment_id)
    assert sorted(a.action for a in audits) == ["appointment.cancelled", "appointment.rescheduled",
                                                "appointment.rescheduled"]
    cancelled = next(a for a in audits if a.action == "appointment.cancelled")
    assert (cancelled.actor_id, cancelled.actor_role) == (patient.user.id, "patient")
    assert cancelled.details["refund"] == {"refundAs": "credit", "refundCents": 0, "creditCents": 3500,
                                           "lateCreditCents": 0}


def test_a_failure_after_the_change_leaves_nothing(doctor, onboarded, monkeypatch, deferred):
    patient = onboarded()
    appointment_id, payment_id = make_paid(doctor, patient)
    original = changes._record

    def record_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(changes, "_record", record_then_fail)
    with pytest.raises(RuntimeError):
        reschedule(patient.actor, appointment_id, new_start=paris(3, 16))
    with pytest.raises(RuntimeError):
        cancel(patient.actor, appointment_id, "Feeling better", refund_as="credit")
    monkeypatch.setattr(changes, "_record", original)

    def refund_then_fail(*args, **kwargs):
        raise RuntimeError("gateway bookkeeping failed")

    monkeypatch.setattr(changes, "record_refund", refund_then_fail)
    with pytest.raises(RuntimeError):
        cancel(doctor.actor, appointment_id, "Sick")
    row = load(Appointment, appointment_id)
    assert (row.status, row.start_at, row.reschedule_count, row.cancelled_at) == ("confirmed", TUESDAY_2PM, 0, None)
    assert change_rows(appointment_id) == [] and audit_rows(appointment_id) == []
    assert (load(Payment, payment_id).status, load(Payment, payment_id).refunded_cents) == ("succeeded", 0)
    assert ledger(patient.user.id) == [] and deferred == []


# --- who may change what ------------------------------------------------------------------------

def test_a_patient_cannot_touch_someone_elses_appointment(client, doctor, onboarded, make_user, signed_in,
                                                          csrf_header):
    owner, stranger = onboarded(), onboarded()
    appointment_id, _ = make_paid(doctor, owner)
    headers = signed_in(stranger)
    move = {"newStart": paris(3, 16).isoformat()}
    envelope(client.patch(RESCHEDULE.format(appointment_id), json=move, headers=headers), 404, "ERR_NOT_FOUND")
    envelope(client.patch(CANCEL.format(appointment_id), json={}, headers=headers), 404, "ERR_NOT_FOUND")
    envelope(client.get(HISTORY.format(appointment_id)), 404, "ERR_NOT_FOUND")
    other_doctor = make_user("doctor")
    headers = signed_in(other_doctor)
    envelope(client.patch(CANCEL.format(appointment_id), json={"reason": "x"}, headers=headers), 404,
             "ERR_NOT_FOUND")
    assert load(Appointment, appointment_id).status == "confirmed"
    with pytest.raises(Forbidden):  # only the three roles change appointments
        cancel(Actor(stranger.user.id, "system"), appointment_id)
    client.delete_cookie("doktu_session")
    envelope(client.patch(CANCEL.format(appointment_id), json={}, headers=csrf_header()), 401, "ERR_UNAUTHENTICATED")


def test_writes_need_the_csrf_token(client, doctor, onboarded, signed_in):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    signed_in(patient)
    envelope(client.patch(CANCEL.format(appointment_id), json={}), 400, "ERR_CSRF")
    assert load(Appointment, appointment_id).status == "confirmed"


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    (RESCHEDULE, {}, 422, "ERR_VALIDATION"),
    (RESCHEDULE, {"newStart": "2026-03-03T16:00:00"}, 422, "ERR_VALIDATION"),  # no offset
    (RESCHEDULE, {"newStart": "tomorrow"}, 422, "ERR_VALIDATION"),
    (RESCHEDULE, {"newStart": "2026-03-03T16:00:00+01:00", "newSlotId": str(uuid.UUID(int=1))}, 422,
     "ERR_VALIDATION"),
    (RESCHEDULE, {"newSlotId": str(uuid.UUID(int=1))}, 404, "ERR_NOT_FOUND"),
    (RESCHEDULE, {"newSlotId": "nope"}, 422, "ERR_VALIDATION"),
    (RESCHEDULE, {"newStart": "2026-03-03T14:00:00+01:00"}, 422, "ERR_VALIDATION"),  # where it already is
    (RESCHEDULE, {"newStart": "2026-03-03T16:00:00+01:00", "admin": True}, 422, "ERR_VALIDATION"),
    (RESCHEDULE, {"newStart": "2026-03-03T16:00:00+01:00", "reason": "x" * 1001}, 422, "ERR_VALIDATION"),
    (CANCEL, {"refundAs": "cash"}, 422, "ERR_VALIDATION"),
    (CANCEL, {"reason": 42}, 422, "ERR_VALIDATION"),
    (CANCEL, ["reason"], 422, "ERR_VALIDATION"),
])
def test_bad_input_gets_the_error_envelope_never_a_500(client, doctor, onboarded, signed_in, path, body, status,
                                                       code):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    headers = signed_in(patient)
    envelope(client.patch(path.format(appointment_id), json=body, headers=headers), status, code)
    assert change_rows(appointment_id) == []


def test_odd_requests_get_the_error_envelope(client, doctor, onboarded, make_user, signed_in, add_slots):
    patient = onboarded()
    appointment_id, _ = make_paid(doctor, patient)
    other = make_user("doctor")
    add_slots(other.doctor.id, [paris(4, 11)])
    foreign_slot = rows(Slot, Slot.doctor_id == other.doctor.id)[0].id
    headers = signed_in(patient)
    envelope(client.patch(RESCHEDULE.format(appointment_id), json={"newSlotId": str(foreign_slot)},
                          headers=headers), 404, "ERR_NOT_FOUND")
    envelope(client.patch(RESCHEDULE.format("not-a-uuid"), json={}, headers=headers), 404, "ERR_NOT_FOUND")
    envelope(client.patch(RESCHEDULE.format(uuid.uuid4()), json={"newStart": paris(3, 16).isoformat()},
                          headers=headers), 404, "ERR_NOT_FOUND")
    envelope(client.patch(CANCEL.format(appointment_id), data="reason=x", headers=headers,
                          content_type="application/x-www-form-urlencoded"), 422, "ERR_VALIDATION")
    for path in (CANCEL, RESCHEDULE):  # unreadable JSON: 400 before the view (spectree alone would read {})
        envelope(client.patch(path.format(appointment_id), data="{not json", headers=headers,
                              content_type="application/json"), 400, "ERR_BAD_REQUEST")
    for garbage in ("[]", "null", '"cancel"'):  # spectree alone would read these as {}
        envelope(client.patch(CANCEL.format(appointment_id), data=garbage, headers=headers,
                              content_type="application/json"), 422, "ERR_VALIDATION")
        envelope(client.patch(RESCHEDULE.format(appointment_id), data=garbage, headers=headers,
                              content_type="application/json"), 422, "ERR_VALIDATION")
    assert load(Appointment, appointment_id).status == "confirmed"
    envelope(client.post(CANCEL.format(appointment_id), json={}, headers=headers), 405, "ERR_METHOD_NOT_ALLOWED")
    envelope(client.patch(RESCHEDULE.format(appointment_id), headers=headers), 422, "ERR_VALIDATION")  # no body
    assert client.patch(CANCEL.format(appointment_id), headers=headers).status_code == 200  # no body: no reason
    with pytest.raises(ValidationFailed):
        reschedule(patient.actor, appointment_id)  # neither a slot nor a start


def test_the_api_is_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    for path in ("/api/appointments/{appointment_id}/reschedule", "/api/appointments/{appointment_id}/cancel"):
        assert "patch" in doc["paths"][path]
    assert "get" in doc["paths"]["/api/appointments/{appointment_id}/history"]
    schemas = str(doc["components"]["schemas"])
    assert "RescheduleRequest" in schemas and "CancelOut" in schemas and "refundedCents" in schemas


# --- races --------------------------------------------------------------------------------------

@pytest.fixture
def committed_appointments(committed_clinic, app):
    """Two patients' confirmed appointments with one doctor, committed for real (separate
    connections race on them); their append-only change and audit rows are removed afterwards by
    the owner, with the append-only triggers off for that one transaction."""
    clinic = committed_clinic(2)
    made: list[uuid.UUID] = []

    def create(*starts: datetime) -> list[uuid.UUID]:
        with unit_of_work(SYSTEM) as uow:
            for (_, patient_id), start in zip(clinic.patients, starts, strict=False):
                appointment = Appointment(doctor_id=clinic.doctor_id, patient_id=patient_id, start_at=start,
                                          end_at=start + timedelta(minutes=30), status="confirmed")
                uow.session.add(appointment)
                uow.session.flush()
                made.append(appointment.id)
        return list(made)

    create.clinic = clinic
    yield create
    owner = create_engine(core_db.current().owner_url)
    with owner.begin() as conn:
        for table in ("appointment_changes", "audit_events"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        ids = [str(i) for i in made]
        conn.execute(text("DELETE FROM appointment_changes WHERE appointment_id::text = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM audit_events WHERE subject_id = ANY(:ids)"), {"ids": ids})
        for table in ("appointment_changes", "audit_events"):
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
    owner.dispose()


def test_two_reschedules_racing_for_one_time_give_one_winner(committed_appointments, clock_at):
    first, second = committed_appointments(paris(3, 10), paris(3, 17))
    (first_user, _), (second_user, _) = committed_appointments.clinic.patients
    target = paris(3, 13, 30)
    outcomes: dict[uuid.UUID, str] = {}
    barrier = threading.Barrier(2)

    def attempt(user_id, appointment_id):
        barrier.wait()
        try:
            reschedule(Actor(user_id, "patient"), appointment_id, new_start=target)
            outcomes[appointment_id] = "moved"
        except SlotConflict:
            outcomes[appointment_id] = "conflict"

    threads = [threading.Thread(target=attempt, args=args)
               for args in ((first_user, first), (second_user, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["conflict", "moved"]
    with unit_of_work(SYSTEM) as uow:
        at_target = uow.session.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.doctor_id == committed_appointments.clinic.doctor_id, Appointment.start_at == target))
        assert at_target == 1
        loser = next(i for i, o in outcomes.items() if o == "conflict")
        assert uow.session.get(Appointment, loser).reschedule_count == 0
        assert uow.session.scalar(select(func.count()).select_from(AppointmentChange).where(
            AppointmentChange.appointment_id.in_([first, second]))) == 1


def test_the_same_appointment_rescheduled_twice_at_once_moves_once_per_request(committed_appointments, clock_at):
    (appointment_id,) = committed_appointments(paris(3, 10))
    user_id, _ = committed_appointments.clinic.patients[0]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(start):
        barrier.wait()
        try:
            reschedule(Actor(user_id, "patient"), appointment_id, new_start=start)
            outcomes.append("moved")
        except (SlotConflict, MaxReschedules, TimeWindow) as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in (paris(3, 15), paris(3, 19))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["moved", "moved"]  # serialised by the row lock: both apply, one after the other
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.get(Appointment, appointment_id)
        assert row.reschedule_count == 2
        assert len(uow.session.scalars(select(AppointmentChange).where(
            AppointmentChange.appointment_id == appointment_id)).all()) == 2
