"""`POST /api/appointments/create-pending` (SPEC §7, §12): hold and pending appointment in one step."""

import threading
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.actor import SYSTEM, Actor
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.errors import SlotConflict, TimeWindow
from core.models import Appointment, Slot
from core.scheduling.holds import unlock_stale_slots
from tests.integration.scheduling.conftest import PARIS, paris

CREATE = "/api/appointments/create-pending"
AVAILABILITY = "/api/doctors/{}/unified-availability"


def available_starts(client, doctor_id, day: int) -> set:
    body = client.get(AVAILABILITY.format(doctor_id), query_string={
        "from": paris(day, 0).isoformat(), "to": paris(day + 1, 0).isoformat()}).get_json()
    return {datetime.fromisoformat(s["start"]) for s in body["slots"] if s["isAvailable"]}


def test_a_patient_gets_a_held_pending_appointment_and_a_checkout_url(client, doctor, onboarded, login, csrf_header):
    patient = onboarded()
    login(patient.email)
    response = client.post(CREATE, json={"doctorId": str(doctor.doctor.id), "start": paris(3, 14).isoformat()},
                           headers=csrf_header())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    assert body["checkoutUrl"] == f"/checkout/{body['id']}"
    assert body["priceCents"] == 3500 and body["currency"] == "EUR"
    assert body["holdExpiresAt"].startswith((clock.now() + timedelta(minutes=15)).isoformat()[:16])
    with unit_of_work(SYSTEM) as uow:
        appointment = uow.session.get(Appointment, uuid.UUID(body["id"]))
        slot = uow.session.get(Slot, appointment.slot_id)
        assert (appointment.status, appointment.patient_id) == ("pending", patient.patient.id)
        assert appointment.end_at - appointment.start_at == timedelta(minutes=30)
        assert slot.locked_by == patient.user.id and slot.locked_until == appointment.hold_expires_at
    # The time and its ±45 min buffer are gone for everyone else: 13:30 … 14:30 blocked, 14:45 free.
    client.post("/logout", headers=csrf_header())
    free = available_starts(client, doctor.doctor.id, 3)
    assert paris(3, 14) not in free
    assert not any(paris(3, 13, 30) <= s <= paris(3, 14, 30) for s in free)
    assert paris(3, 14, 45) in free


def test_asking_twice_returns_the_same_appointment_and_another_time_replaces_it(doctor, onboarded):
    patient = onboarded()
    first = create_pending(patient.actor, doctor.doctor.id, paris(3, 14))
    again = create_pending(patient.actor, doctor.doctor.id, paris(3, 14))
    assert again.id == first.id
    moved = create_pending(patient.actor, doctor.doctor.id, paris(3, 14, 15))  # inside the old buffer
    assert moved.id != first.id
    with unit_of_work(SYSTEM) as uow:
        rows = {a.id: a for a in uow.session.scalars(select(Appointment).where(
            Appointment.patient_id == patient.patient.id))}
        assert rows[first.id].status == "cancelled" and rows[first.id].cancelled_by == "patient"
        assert rows[moved.id].status == "pending"
        held = uow.session.scalars(select(Slot).where(Slot.locked_by == patient.user.id)).all()
        assert [s.start_at for s in held] == [paris(3, 14, 15)]


def test_a_second_patient_gets_a_conflict_and_nothing_is_written(doctor, onboarded):
    first, second = onboarded(), onboarded()
    create_pending(first.actor, doctor.doctor.id, paris(3, 14))
    for start in (paris(3, 14), paris(3, 14, 30)):  # the same time, and one inside its buffer
        with pytest.raises(SlotConflict):
            create_pending(second.actor, doctor.doctor.id, start)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalars(select(Appointment).where(
            Appointment.patient_id == second.patient.id)).all() == []


def test_the_rules_of_the_gate(client, doctor, onboarded, make_user, login, csrf_header):
    # A new patient's time is held before the health profile, which checkout asks before paying.
    not_onboarded = make_user("patient")
    assert create_pending(not_onboarded.actor, doctor.doctor.id, paris(3, 14)).status == "pending"
    patient = onboarded()
    with pytest.raises(TimeWindow):  # 59 minutes ahead: inside the 60-minute notice
        create_pending(patient.actor, doctor.doctor.id, clock.now() + timedelta(minutes=59))
    client.post("/logout", headers=csrf_header())
    login(patient.email)
    for body, status in (({"doctorId": str(doctor.doctor.id), "start": "2026-03-03T14:00:00"}, 422),
                         ({"doctorId": str(uuid.uuid4()), "start": paris(3, 14).isoformat()}, 404),
                         ({"doctorId": "nope", "start": paris(3, 14).isoformat()}, 422)):
        response = client.post(CREATE, json=body, headers=csrf_header())
        assert response.status_code == status, body
        assert response.get_json()["error"]["code"].startswith("ERR_")
    assert client.post(CREATE, json={"doctorId": str(doctor.doctor.id), "start": paris(3, 14).isoformat()}
                       ).status_code == 400  # no CSRF token: refused


def test_only_patients_create_pending_appointments(client, doctor, make_user, login, csrf_header):
    login(doctor.email)
    response = client.post(CREATE, json={"doctorId": str(doctor.doctor.id), "start": paris(3, 14).isoformat()},
                           headers=csrf_header())
    assert response.status_code == 403
    client.post("/logout", headers=csrf_header())
    assert client.post(CREATE, json={}, headers=csrf_header()).status_code == 401


def test_an_expired_hold_cancels_the_unpaid_appointment_and_frees_the_time(client, doctor, onboarded, clock_at):
    patient = onboarded()
    pending = create_pending(patient.actor, doctor.doctor.id, paris(3, 14, 30))
    clock_at(clock.now() + timedelta(minutes=14, seconds=59))
    assert unlock_stale_slots() == 0
    clock_at(clock.now() + timedelta(seconds=1))  # exactly 15 minutes
    assert unlock_stale_slots() == 1
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.get(Appointment, pending.id)
        assert row.status == "cancelled" and row.cancelled_by is None and row.cancelled_at == clock.now()
    assert paris(3, 14, 30) in available_starts(client, doctor.doctor.id, 3)
    other = onboarded()
    assert create_pending(other.actor, doctor.doctor.id, paris(3, 14, 30)).status == "pending"


def test_an_abandoned_checkout_stops_blocking_its_time_when_the_hold_ends_before_the_job_runs(
        client, doctor, onboarded, clock_at):
    """Issue 23: the cron may be late or down; the guard and the busy times read the hold's expiry
    themselves, so the time is offered and can be held again the moment its 15 minutes are over."""
    first, second = onboarded(), onboarded()
    abandoned = create_pending(first.actor, doctor.doctor.id, paris(3, 14, 30))
    clock_at(clock.now() + timedelta(minutes=14, seconds=59))
    assert paris(3, 14, 30) not in available_starts(client, doctor.doctor.id, 3)
    with pytest.raises(SlotConflict):  # still held: the same start, and one within 45 minutes
        create_pending(second.actor, doctor.doctor.id, paris(3, 15))
    clock_at(clock.now() + timedelta(seconds=1))  # 15 minutes: no unlock job has run
    assert paris(3, 14, 30) in available_starts(client, doctor.doctor.id, 3)
    taken = create_pending(second.actor, doctor.doctor.id, paris(3, 14, 30))
    assert taken.status == "pending" and taken.slot_id == abandoned.slot_id
    with pytest.raises(SlotConflict):  # the new hold blocks the first patient now
        create_pending(first.actor, doctor.doctor.id, paris(3, 14, 45))
    assert unlock_stale_slots() == 0  # the slot is the second patient's; the first's appointment is cancelled
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, abandoned.id).status == "cancelled"
        assert uow.session.get(Appointment, taken.id).status == "pending"
        assert uow.session.get(Slot, taken.slot_id).locked_by == second.user.id


def test_twenty_patients_racing_for_one_time_get_one_appointment(committed_clinic):
    clinic = committed_clinic(20)
    start = datetime.combine(date.today() + timedelta(days=2), time(12), PARIS)  # a template start
    with unit_of_work(SYSTEM) as uow:  # onboard them all, committed
        from core.models import Patient

        for _, patient_id in clinic.patients:
            row = uow.session.get(Patient, patient_id)
            row.date_of_birth, row.gender, row.onboarded_at = date(1980, 1, 1), "male", clock.now()
    outcomes: list[str] = []
    barrier = threading.Barrier(len(clinic.patients))

    def attempt(user_id):
        barrier.wait()
        try:
            create_pending(Actor(user_id, "patient"), clinic.doctor_id, start)
            outcomes.append("pending")
        except SlotConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid, _ in clinic.patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 19 + ["pending"]
    with unit_of_work(SYSTEM) as uow:
        active = uow.session.scalars(select(Appointment).where(
            Appointment.doctor_id == clinic.doctor_id, Appointment.status == "pending")).all()
        assert len(active) == 1
