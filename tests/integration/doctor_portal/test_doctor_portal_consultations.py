"""The doctor's consultations from the portal (SPEC §5, §9): the upcoming list, Complete from the
start, and Cancel with a reason through the same service and policy as the API.

The clock is Monday 2 March 2026, 08:00 in Paris."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.actor import SYSTEM, Actor
from core.booking import completion, doctor_agenda
from core.db import unit_of_work
from core.errors import Forbidden, InvalidTransition, NotFound, TimeWindow
from core.models import Appointment, AppointmentChange, AuditEvent, CreditEntry, VideoTest
from portals.doctor import callbacks as cb
from tests.integration.scheduling.conftest import paris


def audit(subject_id) -> list[AuditEvent]:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(subject_id))
                                   .order_by(AuditEvent.id)).all()


def status_of(appointment_id) -> str:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(Appointment, appointment_id).status


def test_upcoming_lists_the_next_five_with_names_and_what_can_be_done(doctor, patient, appointment, clock_at):
    noor = patient("Noor Haddad")
    first = appointment(doctor, noor, paris(2, 8, 3))  # in the join window
    for hour in (10, 11, 12, 13, 14, 15):
        appointment(doctor, patient(f"Patient {hour}"), paris(3, hour))
    items = doctor_agenda.doctor_upcoming(doctor.actor)
    assert len(items) == 5
    assert items[0].id == first and items[0].patient_name == "Noor Haddad"
    assert items[0].join_open and items[0].join_refusal  # no device test yet
    assert items[0].completion_refusal and items[0].can_cancel
    assert items[0].refund.refund_cents == 3500 and items[0].refund.late_credit_cents == 1000
    assert not items[1].join_open and items[1].refund.late_credit_cents == 0


def test_join_needs_the_doctors_device_test_like_the_video_service(doctor, patient, appointment, clock_at):
    appointment(doctor, patient(), paris(2, 8, 3))
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(VideoTest(user_id=doctor.user.id, passed=True, outcome="passed",
                                  created_at=paris(2, 7, 0)))
    item = doctor_agenda.doctor_upcoming(doctor.actor)[0]
    assert item.join_open and item.join_refusal is None


def test_other_doctors_expired_holds_and_cancellations_are_not_listed(doctor, patient, appointment, make_user, clock_at):
    other = make_user("doctor", full_name="Dr Other")
    appointment(other, patient(), paris(3, 10))
    appointment(doctor, patient(), paris(3, 11), status="pending")
    with unit_of_work(SYSTEM) as uow:  # a hold that ran out unpaid: cancelled by nobody
        uow.session.add(Appointment(doctor_id=doctor.doctor.id, patient_id=patient().patient.id,
                                    start_at=paris(3, 12), end_at=paris(3, 12, 30), status="cancelled",
                                    cancelled_at=paris(2, 7)))
        uow.session.add(Appointment(doctor_id=doctor.doctor.id, patient_id=patient().patient.id,
                                    start_at=paris(3, 9), end_at=paris(3, 9, 30), status="cancelled",
                                    cancelled_at=paris(2, 7), cancelled_by="patient"))
    items = doctor_agenda.doctor_upcoming(doctor.actor)
    assert [(i.start, i.status) for i in items] == [(paris(3, 11), "pending")]  # nor a cancelled one
    assert items[0].refund.refund_as == "none"


def test_a_doctor_completes_a_confirmed_consultation_from_its_start(doctor, patient, appointment, clock_at):
    appointment_id = appointment(doctor, patient(), paris(2, 9))
    clock_at(paris(2, 8, 59))
    with pytest.raises(TimeWindow):
        completion.complete(doctor.actor, appointment_id)
    clock_at(paris(2, 9, 0))
    done = completion.complete(doctor.actor, appointment_id)
    assert done.status == "completed" and status_of(appointment_id) == "completed"
    assert [(a.action, a.actor_id, a.details) for a in audit(appointment_id)] == [
        ("appointment.completed", doctor.user.id, {"before": "confirmed"})]
    with pytest.raises(InvalidTransition):
        completion.complete(doctor.actor, appointment_id)


def test_an_unpaid_or_cancelled_consultation_cannot_be_completed(doctor, patient, appointment, clock_at):
    pending = appointment(doctor, patient(), paris(2, 9), status="pending")
    cancelled = appointment(doctor, patient(), paris(2, 10), status="cancelled")
    clock_at(paris(2, 11))
    for appointment_id in (pending, cancelled):
        with pytest.raises(InvalidTransition):
            completion.complete(doctor.actor, appointment_id)
    assert status_of(pending) == "pending"


def test_only_its_doctor_completes_it(doctor, patient, appointment, make_user, clock_at):
    noor = patient()
    appointment_id = appointment(doctor, noor, paris(2, 9))
    clock_at(paris(2, 9, 30))
    with pytest.raises(NotFound):  # another doctor does not even see it (RLS)
        completion.complete(make_user("doctor").actor, appointment_id)
    with pytest.raises(Forbidden):
        completion.complete(noor.actor, appointment_id)
    assert completion.complete(make_user("admin").actor, appointment_id).status == "completed"


def test_complete_from_the_portal_callback(doctor, patient, appointment, clock_at):
    appointment_id = appointment(doctor, patient(), paris(2, 9))
    clock_at(paris(2, 9, 10))
    _version, message = cb.complete_appointment(doctor.actor, str(appointment_id))
    assert message == "Marked completed at 09:10." and status_of(appointment_id) == "completed"


def test_cancel_from_the_portal_needs_a_reason_and_refunds_as_stated(doctor, patient, appointment, clock_at,
                                                                     deferred):
    noor = patient("Noor Haddad")
    appointment_id = appointment(doctor, noor, paris(2, 8, 30))  # 30 min away: late
    is_open, body, target = cb.open_cancel(doctor.actor, str(appointment_id))
    stated = body[1].children
    assert is_open and target == str(appointment_id)
    assert stated == ("Noor Haddad gets a full refund: €35 back to their card. Because you cancel less than "
                      "60 minutes before the start, they also get a €10 credit.")

    still_open, invalid, _feedback, *_ = cb.confirm_cancel(doctor.actor, target, "")
    assert still_open and invalid and status_of(appointment_id) == "confirmed"

    closed, _, _, message, _ = cb.confirm_cancel(doctor.actor, target, "I have a fever.")
    assert not closed and message == f"Cancelled. {stated}"
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.get(Appointment, appointment_id)
        assert (row.status, row.cancelled_by, row.cancel_reason) == ("cancelled", "doctor", "I have a fever.")
        change = uow.session.scalars(select(AppointmentChange).where(
            AppointmentChange.appointment_id == appointment_id)).one()
        assert (change.action, change.actor_role, change.reason) == ("cancel", "doctor", "I have a fever.")
        credits = uow.session.scalars(select(CreditEntry.kind).where(CreditEntry.user_id == noor.user.id)).all()
        assert credits == ["late_credit"]
    assert [a.action for a in audit(appointment_id)] == ["appointment.cancelled"]
    assert any("refund" in path for path, _, _ in deferred)


def test_cancel_of_someone_elses_appointment_is_refused(doctor, patient, appointment, make_user, clock_at):
    appointment_id = appointment(make_user("doctor"), patient(), paris(3, 10))
    assert cb.open_cancel(doctor.actor, str(appointment_id))[0] is False
    still_open, _, feedback, *_ = cb.confirm_cancel(doctor.actor, str(appointment_id), "reason")
    assert still_open and feedback == "No such appointment."
    assert status_of(appointment_id) == "confirmed"


def test_only_doctors_have_a_consultation_list(patient, clock_at):
    with pytest.raises(Forbidden):
        doctor_agenda.doctor_upcoming(patient().actor)
    with pytest.raises(Forbidden):
        doctor_agenda.doctor_upcoming(Actor(uuid.uuid4(), "doctor"))


def test_wrap_up_keeps_a_finished_unconfirmed_consultation_listed(doctor, patient, appointment, clock_at):
    appointment_id = appointment(doctor, patient(), paris(2, 8))
    clock_at(paris(2, 8) + timedelta(hours=3))
    items = doctor_agenda.doctor_upcoming(doctor.actor)
    assert [i.id for i in items] == [appointment_id] and items[0].can_complete and not items[0].join_open
