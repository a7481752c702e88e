"""Settling consultations after their window (SPEC §16): each rule at its edges (exactly at start +
30 min, and a minute before), exactly once when the job runs twice, and with two workers racing
on separate connections."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from core import db as core_db
from core.actor import SYSTEM
from core.db import unit_of_work
from core.metrics.alerts import alert_feed
from core.models import Appointment, AppointmentChange, CreditEntry, OutboxMessage, Payment, VisitEvent
from core.video import settlement
from core.video.settlement import settle_due
from tests.integration.video.conftest import START

CLOSE = START + timedelta(minutes=30)


def came(appointment, user_id, role, *kinds, at=START - timedelta(minutes=3)):
    with unit_of_work(SYSTEM) as uow:
        for n, kind in enumerate(kinds):
            uow.session.add(VisitEvent(appointment_id=appointment, user_id=user_id, role=role, kind=kind,
                                       occurred_at=at + timedelta(seconds=n)))


def load(appointment):
    with unit_of_work(SYSTEM) as uow:
        a = uow.session.get(Appointment, appointment)
        outcomes = sorted(uow.session.scalars(select(VisitEvent.outcome).where(
            VisitEvent.appointment_id == appointment, VisitEvent.kind == "ended")))
        return a.status, a.cancelled_by, outcomes


def count(model, *where) -> int:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def visit(consultation, doctor, clock_at):
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=10))
    return patient, doctor, appointment


def test_both_joined_stays_booked_and_the_doctor_is_reminded_once_after_2_hours(visit, clock_at):
    patient, doctor, appointment = visit
    came(appointment, patient.user.id, "patient", "waiting", "joined")
    came(appointment, doctor.user.id, "doctor", "joined")
    assert settle_due(CLOSE - timedelta(minutes=1)) == settlement.Settled()
    assert settle_due(CLOSE) == settlement.Settled(held=1)
    assert load(appointment) == ("confirmed", None, ["held"])
    assert settle_due(START + timedelta(hours=2) - timedelta(minutes=1)) == settlement.Settled()
    assert settle_due(START + timedelta(hours=2)) == settlement.Settled(reminded=1)
    assert settle_due(START + timedelta(hours=3)) == settlement.Settled()
    reminders = count(OutboxMessage, OutboxMessage.dedupe_key == f"complete-reminder:{appointment}")
    assert reminders == 1 and load(appointment)[2] == ["doctor_reminded", "held"]


def test_the_doctor_joined_and_the_patient_never_did_is_the_patients_no_show(visit):
    patient, doctor, appointment = visit
    came(appointment, patient.user.id, "patient", "waiting")  # waited, never joined
    came(appointment, doctor.user.id, "doctor", "joined", "left")
    assert settle_due(CLOSE - timedelta(minutes=1)) == settlement.Settled()
    assert settle_due(CLOSE) == settlement.Settled(no_show=1)
    assert load(appointment) == ("no_show", None, ["no_show"])
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == appointment))
        audit = uow.session.execute(text("SELECT count(*) FROM audit_events WHERE action = 'appointment.no_show' "
                                         "AND subject_id = :a"), {"a": str(appointment)}).scalar()
    assert payment.refunded_cents == 0 and audit == 1  # no refund (SPEC §5)


def test_the_patient_waited_and_the_doctor_never_came_is_a_doctor_cancellation_with_refund_and_credit(
        visit, make_user):
    patient, _doctor, appointment = visit
    came(appointment, patient.user.id, "patient", "waiting")
    assert settle_due(CLOSE - timedelta(minutes=1)) == settlement.Settled()
    assert settle_due(CLOSE) == settlement.Settled(doctor_no_show=1)
    assert settle_due(CLOSE) == settlement.Settled()  # the job runs again: nothing more
    assert settle_due(CLOSE + timedelta(minutes=5)) == settlement.Settled()
    assert load(appointment) == ("cancelled", "doctor", ["doctor_no_show"])
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == appointment))
        credits = sorted((e.kind, e.amount_cents) for e in uow.session.scalars(
            select(CreditEntry).where(CreditEntry.user_id == patient.user.id)))
        change = uow.session.scalar(select(AppointmentChange).where(AppointmentChange.appointment_id == appointment))
    assert (payment.status, payment.refunded_cents) == ("refunded", payment.amount_cents)
    assert credits == [("late_credit", 1000)]
    assert change.action == "cancel" and change.actor_role == "doctor" and "did not join" in change.reason
    admin = make_user("admin")
    [alert] = [a for a in alert_feed(admin.actor, now=CLOSE + timedelta(minutes=1))
               if a.code == "doctor_missed_consultations"]
    assert alert.severity == "critical" and "Dr Paris" in alert.detail


def test_neither_joined_is_a_no_show(visit):
    _patient, _doctor, appointment = visit
    assert settle_due(CLOSE) == settlement.Settled(no_show=1)
    assert load(appointment) == ("no_show", None, ["no_show"])


def test_a_completed_or_cancelled_consultation_is_left_alone(visit, consultation, clock_at):
    from core.booking.completion import complete

    _patient, doctor, appointment = visit
    clock_at(START + timedelta(minutes=20))
    complete(doctor.actor, appointment)
    assert settle_due(CLOSE) == settlement.Settled()
    assert load(appointment) == ("completed", None, [])


@pytest.mark.parametrize("doctor_kinds,patient_kinds,expected", [
    ((), (), "no_show"),
    (("joined",), (), "no_show"),
    (("joined",), ("joined",), "held"),
    (("waiting",), ("waiting",), "doctor_no_show"),  # the doctor only opened the waiting room
    ((), ("joined", "left"), "doctor_no_show"),
])
def test_the_outcome_rule(doctor_kinds, patient_kinds, expected):
    from core.video import presence

    d = presence.summarise([presence.Event("doctor", k, START) for k in doctor_kinds])
    p = presence.summarise([presence.Event("patient", k, START) for k in patient_kinds])
    assert settlement.outcome(doctor_joined=d.ever_joined, patient_joined=p.ever_joined,
                              patient_came=p.ever_came) == expected


def test_two_workers_settling_at_once_apply_each_outcome_once(committed_clinic, app):
    """Real separate connections (committed rows): two threads run the whole job together."""
    clinic = committed_clinic(2)
    engine = core_db.current().engine
    start = START
    ids = []
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        for n, (_user, patient_id) in enumerate(clinic.patients):
            ids.append(conn.execute(text("""
                INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
                VALUES (:d, :p, :s, :s + interval '30 minutes', 'confirmed') RETURNING id"""),
                {"d": clinic.doctor_id, "p": patient_id, "s": start + timedelta(hours=n)}).scalar())
    late = START + timedelta(hours=1, minutes=30)
    results: list[settlement.Settled] = []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        results.append(settle_due(late))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sum(r.no_show for r in results) == 2  # each consultation settled by exactly one worker
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.role', 'system', true)"))
            rows = conn.execute(text("SELECT a.status, (SELECT count(*) FROM visit_events e WHERE "
                                     "e.appointment_id = a.id AND e.kind = 'ended') FROM appointments a "
                                     "WHERE a.id = ANY(:ids)"), {"ids": ids}).all()
            audits = conn.execute(text("SELECT count(*) FROM audit_events WHERE action = 'appointment.no_show' "
                                       "AND subject_id = ANY(:ids)"), {"ids": [str(i) for i in ids]}).scalar()
        assert sorted(rows) == [("no_show", 1), ("no_show", 1)] and audits == 2
    finally:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.role', 'system', true)"))
            conn.execute(text("DELETE FROM appointments WHERE id = ANY(:ids)"), {"ids": ids})


def test_unknown_ids_are_nothing_to_settle():
    assert settlement.settle_one(uuid.uuid4(), CLOSE) is None


def test_the_completion_reminder_is_in_the_doctors_language_and_zone(visit, clock_at):
    """SPEC §20: the doctor reads the reminder in their `users.locale`, the start in their own zone."""
    from sqlalchemy import update

    from core.models import User

    patient, doctor, appointment = visit
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == doctor.user.id).values(locale="de", timezone="Europe/Berlin"))
    came(appointment, patient.user.id, "patient", "waiting", "joined")
    came(appointment, doctor.user.id, "doctor", "joined")
    settle_due(CLOSE)
    assert settle_due(START + timedelta(hours=2)) == settlement.Settled(reminded=1)
    with unit_of_work(SYSTEM) as uow:
        mail = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"complete-reminder:{appointment}"))
    assert mail.subject == "Bitte schließen Sie Ihre Sprechstunde ab"
    local = START.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"um {local:%H:%M} (Europe/Berlin)" in mail.body_text and "/doctor/" in mail.body_text
    assert 'lang="de"' in mail.body_html
