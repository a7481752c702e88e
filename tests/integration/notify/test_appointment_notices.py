"""Booking confirmation, reschedule and cancel notices (SPEC §11): queued by the job the change
deferred in its own transaction, once per event, to the patient and the doctor, each in their
language and time zone, with a calendar invite whose UID never changes."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import update

from core.actor import SYSTEM, Actor
from core.booking.changes import cancel, reschedule
from core.db import unit_of_work
from core.models import Doctor, OwedEffect
from core.notify.appointments import notify_appointment_event
from core.notify.invites import event_uid
from core.payments import credits
from core.payments.checkout import pay_with_credit
from tests.integration.notify.conftest import DELIVER, EVENT, about, invite_of, set_user
from tests.integration.scheduling.conftest import paris


def by_audience(rows):
    return {row.dedupe_key.split(":")[3]: row for row in rows}


def event_of(ical):
    (event,) = ical.events
    return event


def test_a_paid_booking_sends_the_patient_and_the_doctor_a_confirmation_with_an_invite(booked, deferred, doctor):
    b = booked()
    assert [(p, a) for p, a, _ in deferred] == [(EVENT, ("confirmed", str(b.appointment_id), 0))]
    assert deferred.run(EVENT) == [2]
    rows = about(b.appointment_id)
    assert [r.dedupe_key for r in rows] == [f"confirmed:{b.appointment_id}:0:doctor:email",
                                            f"confirmed:{b.appointment_id}:0:patient:email"]
    patient, to_doctor = by_audience(rows)["patient"], by_audience(rows)["doctor"]
    assert patient.recipient == b.patient.email and to_doctor.recipient == doctor.email
    assert patient.subject == "Booked: your consultation with Dr Paris, Tuesday 3 March 2026, 14:00"
    assert "When: Tuesday 3 March 2026, 14:00 (Europe/Paris), 30 minutes" in patient.body_text
    assert f"/visit/{b.appointment_id}" in patient.body_text
    assert patient.body_html.startswith("<!doctype html>") and '<html lang="en">' in patient.body_html
    assert to_doctor.subject == "New consultation: Test Person, Tuesday 3 March 2026, 14:00"

    ical = invite_of(patient)
    event = event_of(ical)
    assert str(ical["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == event_uid(b.appointment_id) == f"appointment-{b.appointment_id}@doktu.eu"
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event["DTSTART"].dt == paris(3, 14) and event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=30)
    assert patient.attachments[0]["filename"] == "invite.ics"
    assert patient.attachments[0]["contentType"] == "text/calendar; method=REQUEST; charset=UTF-8"
    assert str(event_of(invite_of(to_doctor))["UID"]) == str(event["UID"])

    assert deferred.paths() == [DELIVER, DELIVER]  # one delivery per message, after the job's commit
    assert deferred.run(DELIVER) == ["dev", "dev"]
    assert {(r.status, r.provider, r.attempts) for r in about(b.appointment_id)} == {("dev", "dev-outbox", 1)}


def test_the_confirmation_is_queued_once_when_the_job_runs_twice(booked, deferred):
    b = booked()
    assert deferred.run(EVENT, times=2) == [2, 0]
    assert len(about(b.appointment_id)) == 2
    assert deferred.paths() == [DELIVER, DELIVER]
    assert deferred.run(DELIVER, times=2) == ["dev", "dev", "dev", "dev"]  # a second delivery sends nothing
    assert {r.attempts for r in about(b.appointment_id)} == {1}


def test_the_patient_reads_in_their_language_and_time_zone_and_the_doctor_in_theirs(booked, deferred):
    b = booked(locale="fr", timezone="America/Montreal")
    deferred.run(EVENT)
    rows = by_audience(about(b.appointment_id))
    patient, to_doctor = rows["patient"], rows["doctor"]
    # 14:00 in Paris is 08:00 in Montréal (EST until 8 March)
    assert patient.subject == "Confirmé : votre consultation avec Dr Paris, mardi 3 mars 2026 à 08:00"
    assert "Quand : mardi 3 mars 2026 à 08:00 (America/Montreal), 30 minutes" in patient.body_text
    assert '<html lang="fr">' in patient.body_html
    event = event_of(invite_of(patient))
    assert event["DTSTART"].params["TZID"] == "America/Montreal"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 3, 8, 0)
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    assert to_doctor.subject.endswith("Tuesday 3 March 2026, 14:00")  # the doctor: English, Paris


def test_a_patient_without_a_zone_reads_the_doctors_zone(booked, deferred, doctor):
    set_user(doctor.user.id, timezone="Europe/Lisbon")  # the doctor's own choice for their account
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(Doctor).where(Doctor.id == doctor.doctor.id).values(timezone="Europe/Helsinki"))
    b = booked()
    deferred.run(EVENT)
    rows = by_audience(about(b.appointment_id))
    assert "15:00 (Europe/Helsinki)" in rows["patient"].body_text  # the doctor's practice zone
    assert "13:00 (Europe/Lisbon)" in rows["doctor"].body_text  # the doctor's account zone


def test_a_reschedule_sends_both_an_updated_invite_with_the_same_uid(booked, deferred):
    b = booked()
    deferred.run(EVENT)
    deferred.take(DELIVER)
    first_uid = str(event_of(invite_of(by_audience(about(b.appointment_id))["patient"]))["UID"])
    reschedule(b.patient.actor, b.appointment_id, new_start=paris(3, 16))
    assert [(p, a) for p, a, _ in deferred] == [(EVENT, ("rescheduled", str(b.appointment_id), 1))]
    assert deferred.run(EVENT, times=2) == [2, 0]
    rows = by_audience([r for r in about(b.appointment_id) if r.dedupe_key.startswith("rescheduled:")])
    patient, to_doctor = rows["patient"], rows["doctor"]
    assert patient.dedupe_key == f"rescheduled:{b.appointment_id}:1:patient:email"
    assert patient.subject == "Moved: your consultation with Dr Paris is now Tuesday 3 March 2026, 16:00"
    assert "You moved your consultation with Dr Paris." in patient.body_text
    assert "It was: Tuesday 3 March 2026, 14:00" in patient.body_text
    assert "Test Person moved their consultation with you." in to_doctor.body_text
    ical = invite_of(patient)
    event = event_of(ical)
    assert str(ical["METHOD"]) == "REQUEST" and event["SEQUENCE"] == 1
    assert str(event["UID"]) == first_uid
    assert event["DTSTART"].dt == paris(3, 16)


def test_a_doctors_cancellation_tells_the_patient_and_removes_the_event(booked, deferred, doctor):
    b = booked()
    deferred.run(EVENT)
    cancel(doctor.actor, b.appointment_id, "Called away to an emergency")
    assert (EVENT, ("cancelled", str(b.appointment_id), 0)) in [(p, a) for p, a, _ in deferred]
    assert deferred.run(EVENT) == [2]
    rows = by_audience([r for r in about(b.appointment_id) if r.dedupe_key.startswith("cancelled:")])
    patient = rows["patient"]
    assert patient.subject == "Cancelled: your consultation with Dr Paris, Tuesday 3 March 2026, 14:00"
    assert "Dr Paris had to cancel your consultation of Tuesday 3 March 2026, 14:00" in patient.body_text
    assert "€35.00 is added to your Doktu credit." in patient.body_text  # paid with credit: back as credit
    assert "emergency" not in patient.body_text  # free text stays out of email
    assert "You cancelled your consultation with Test Person" in rows["doctor"].body_text
    ical = invite_of(patient)
    event = event_of(ical)
    assert str(ical["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1 and str(event["UID"]) == event_uid(b.appointment_id)
    assert patient.attachments[0]["filename"] == "cancel.ics"


def test_a_cancellation_after_a_reschedule_outranks_every_earlier_invite(booked, deferred):
    b = booked()
    reschedule(b.patient.actor, b.appointment_id, new_start=paris(3, 16))
    cancel(b.patient.actor, b.appointment_id)
    # The jobs run late, after both changes: the confirmation and the move are stale, the cancel is not.
    assert deferred.run(EVENT) == [0, 0, 2]
    (patient,) = [r for r in about(b.appointment_id) if r.dedupe_key.endswith("patient:email")]
    assert patient.dedupe_key == f"cancelled:{b.appointment_id}:1:patient:email"
    event = event_of(invite_of(patient))
    assert event["SEQUENCE"] == 2 and event["DTSTART"].dt == paris(3, 16)
    assert "You cancelled your consultation with Dr Paris" in patient.body_text


def test_only_the_latest_of_two_quick_reschedules_is_announced(booked, deferred):
    b = booked()
    deferred.run(EVENT)
    reschedule(b.patient.actor, b.appointment_id, new_start=paris(3, 16))
    reschedule(b.patient.actor, b.appointment_id, new_start=paris(3, 18))
    assert deferred.run(EVENT) == [0, 2]
    patient = by_audience([r for r in about(b.appointment_id) if r.dedupe_key.startswith("rescheduled:")])["patient"]
    assert patient.dedupe_key.endswith(":2:patient:email")
    assert "It was: Tuesday 3 March 2026, 16:00" in patient.body_text
    assert event_of(invite_of(patient))["SEQUENCE"] == 2


def test_giving_back_an_unpaid_hold_sends_nothing(held, deferred):
    patient, pending = held()
    cancel(patient.actor, pending.id)
    assert deferred.run(EVENT) == [0]
    assert about(pending.id) == []


def test_an_erased_patient_gets_nothing_and_the_doctor_reads_no_name(booked, deferred):
    b = booked()
    set_user(b.patient.user.id, is_active=False, full_name="")
    assert deferred.run(EVENT) == [1]
    (row,) = about(b.appointment_id)
    assert row.dedupe_key.endswith(":doctor:email") and "A patient booked a video consultation" in row.body_text


def test_an_unknown_appointment_or_event_is_harmless(db):
    assert notify_appointment_event("confirmed", uuid.uuid4(), 0) == 0
    with pytest.raises(ValueError, match="unknown appointment event"):
        notify_appointment_event("teleported", uuid.uuid4(), 0)


def test_through_rq_the_payment_leads_to_delivered_notices(app, held):
    """The real dispatcher: the event job and the deliveries go through Redis and an RQ worker,
    each as an owed effect (the row names the task; its retries are the owed sweep's)."""
    queue: Queue = app.extensions["doktu_queue"]
    queue.empty()
    patient, pending = held()
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="test grant")
    pay_with_credit(patient.actor, pending.id)
    (job,) = queue.jobs
    assert job.func_name == "jobs.owed.run_owed_effect"
    with unit_of_work(SYSTEM) as uow:
        effect = uow.session.get(OwedEffect, uuid.UUID(job.args[0]))
        assert (effect.task, effect.args, effect.status) == (EVENT, ["confirmed", str(pending.id), 0], "pending")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    rows = about(pending.id)
    assert len(rows) == 2 and {r.status for r in rows} == {"dev"}
    assert queue.count == 0
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(OwedEffect, effect.id).status == "done"


def test_a_patient_cancelling_their_own_paid_booking_hears_back_too(booked, deferred):
    b = booked()
    deferred.run(EVENT)
    cancel(Actor(b.patient.user.id, "patient"), b.appointment_id, refund_as="credit")
    assert deferred.run(EVENT) == [2]
    rows = by_audience([r for r in about(b.appointment_id) if r.dedupe_key.startswith("cancelled:")])
    assert "You cancelled your consultation with Dr Paris" in rows["patient"].body_text
    assert "Test Person cancelled their consultation with you" in rows["doctor"].body_text
