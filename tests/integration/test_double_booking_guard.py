"""The database itself refuses two active appointments of one doctor within 45 minutes (SPEC §2),
even when every Python check is bypassed with raw SQL."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from core import clock
from core import db as core_db
from core.actor import SYSTEM
from core.db import translate_db_error, unit_of_work
from core.errors import SlotConflict

INSERT = text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
                 VALUES (:doctor, :patient, :start, :start + interval '30 minutes', :status)""")


@pytest.fixture
def parties(make_user):
    return make_user("doctor").doctor.id, make_user("patient").patient.id, make_user("patient").patient.id


def book(doctor, patient, start, status="pending"):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(INSERT, {"doctor": doctor, "patient": patient, "start": start, "status": status})


def starts_by_status(doctor) -> list[tuple]:
    with unit_of_work(SYSTEM) as uow:
        return [tuple(r) for r in uow.session.execute(
            text("SELECT start_at, status FROM appointments WHERE doctor_id = :d ORDER BY start_at, status"),
            {"d": doctor})]


@pytest.mark.parametrize("minutes_apart", [0, 15, 30, 44])
def test_second_booking_within_45_minutes_is_refused(parties, minutes_apart):
    doctor, p1, p2 = parties
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    book(doctor, p1, start)
    with pytest.raises(SlotConflict):
        book(doctor, p2, start + timedelta(minutes=minutes_apart))


@pytest.mark.parametrize("minutes_apart", [45, -45, 60])
def test_bookings_45_minutes_or_more_apart_are_allowed(parties, minutes_apart):
    doctor, p1, p2 = parties
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    book(doctor, p1, start)
    book(doctor, p2, start + timedelta(minutes=minutes_apart))
    assert starts_by_status(doctor) == sorted([(start, "pending"), (start + timedelta(minutes=minutes_apart), "pending")])


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_cancelled_and_completed_appointments_do_not_block(parties, status):
    doctor, p1, p2 = parties
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at,
                                       status, cancelled_at, cancelled_by)
                                    VALUES (:d, :p, :s, :s + interval '30 minutes', CAST(:status AS text),
                                            CASE WHEN CAST(:status AS text) = 'cancelled' THEN now() END,
                                            CASE WHEN CAST(:status AS text) = 'cancelled' THEN 'patient' END)"""),
                            {"d": doctor, "p": p1, "s": start, "status": status})
    book(doctor, p2, start)
    assert starts_by_status(doctor) == sorted([(start, status), (start, "pending")], key=lambda r: r[1])


def test_a_pending_appointment_blocks_only_while_its_hold_lasts(parties, make_user):
    """Issue 23: an abandoned checkout stops blocking when its hold ends, before the job cancels it;
    a pending row without an expiry blocks as before."""
    doctor, p1, p2 = parties
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    hold = text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status, hold_expires_at)
                   VALUES (:d, :p, :s, :s + interval '30 minutes', 'pending', :h)""")
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(hold, {"d": doctor, "p": p1, "s": start, "h": clock.now() + timedelta(minutes=5)})
    with pytest.raises(SlotConflict):
        book(doctor, p2, start + timedelta(minutes=15))
    with unit_of_work(SYSTEM) as uow:  # its 15 minutes are over
        uow.session.execute(text("UPDATE appointments SET hold_expires_at = :h WHERE patient_id = :p"),
                            {"h": clock.now() - timedelta(seconds=1), "p": p1})
    book(doctor, p2, start + timedelta(minutes=15))
    with pytest.raises(SlotConflict), unit_of_work(SYSTEM) as uow:  # a late payment cannot take it back
        uow.session.execute(text("UPDATE appointments SET status = 'confirmed', hold_expires_at = NULL "
                                 "WHERE patient_id = :p"), {"p": p1})
    with unit_of_work(SYSTEM) as uow:
        busy = uow.session.execute(text("SELECT start_at FROM doctor_busy_times(ARRAY[CAST(:d AS uuid)], :f, :t)"),
                                   {"d": doctor, "f": start - timedelta(hours=1), "t": start + timedelta(hours=2)})
        assert [r.start_at for r in busy] == [start + timedelta(minutes=15)]


def test_moving_an_appointment_onto_another_is_refused(parties):
    doctor, p1, p2 = parties
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    book(doctor, p1, start)
    book(doctor, p2, start + timedelta(hours=2))
    with pytest.raises(SlotConflict), unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("""UPDATE appointments SET start_at = :s, end_at = :s + interval '30 minutes'
                                     WHERE patient_id = :p"""), {"s": start + timedelta(minutes=20), "p": p2})


def test_other_doctors_are_independent(make_user, parties):
    doctor, p1, p2 = parties
    other = make_user("doctor").doctor.id
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    book(doctor, p1, start)
    book(other, p2, start)
    assert starts_by_status(doctor) == [(start, "pending")]
    assert starts_by_status(other) == [(start, "pending")]


def test_fifty_concurrent_bookers_of_one_time_give_exactly_one_booking(committed_clinic):
    """Real, separate connections committing at once: one wins, the rest get a conflict
    (never a deadlock, never a 500)."""
    engine = core_db.current().engine
    clinic = committed_clinic(50)
    start = clock.now().replace(microsecond=0) + timedelta(days=4)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(clinic.patients))

    def attempt(i: int, patient) -> None:
        barrier.wait()
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT set_config('app.role', 'system', true)"))
                conn.execute(INSERT, {"doctor": clinic.doctor_id, "patient": patient,
                                      "start": start + timedelta(minutes=(i % 4) * 10), "status": "pending"})
            outcomes.append("booked")
        except Exception as exc:  # each failure must be a domain conflict
            outcomes.append(type(translate_db_error(exc)).__name__)

    threads = [threading.Thread(target=attempt, args=(i, pid)) for i, (_, pid) in enumerate(clinic.patients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("booked") == 1
    assert outcomes.count("SlotConflict") == len(clinic.patients) - 1
