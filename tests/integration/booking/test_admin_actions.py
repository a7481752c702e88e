"""SPEC §22 "Actions": an admin refunds (full or part), cancels for a doctor, marks or undoes a
no-show and resends a notice — each with a required reason, through the core services, audited;
nobody else may."""

import pytest
from sqlalchemy import select, text

from core import admin_actions
from core.actor import SYSTEM
from core.db import unit_of_work
from core.errors import Forbidden, InvalidTransition, ValidationFailed
from core.models import Appointment, OutboxMessage, Payment
from tests.integration.booking.test_dashboard import paid_appointment
from tests.integration.scheduling.conftest import paris


@pytest.fixture
def admin(make_user):
    return make_user("admin", full_name="Founder")


@pytest.fixture
def booked(doctor, onboarded):
    patient = onboarded()
    return patient, paid_appointment(patient, doctor.doctor.id, paris(3, 14))


def state(appointment_id):
    with unit_of_work(SYSTEM) as uow:
        appointment = uow.session.get(Appointment, appointment_id)
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == appointment_id,
                                                           Payment.status != "failed"))
        return appointment.status, payment.refunded_cents, payment.status


def audit_rows(appointment_id):
    with unit_of_work(SYSTEM) as uow:
        return [dict(r) for r in uow.session.execute(text(
            "SELECT action, actor_role, details FROM audit_events WHERE subject_id = :s AND action LIKE 'admin.%' "
            "ORDER BY occurred_at, id"), {"s": str(appointment_id)}).mappings()]


def test_a_partial_then_the_rest_refunded_each_audited_with_its_reason(admin, booked):
    _, appointment = booked
    done = admin_actions.perform(admin.actor, "refund", appointment.id, "Video froze for 10 minutes",
                                 amount_cents=1000)
    assert done.amount_cents == 1000 and state(appointment.id) == ("confirmed", 1000, "partially_refunded")
    rest = admin_actions.perform(admin.actor, "refund", str(appointment.id), "  Goodwill:   the rest ")
    assert rest.amount_cents == 2500 and state(appointment.id) == ("confirmed", 3500, "refunded")
    rows = audit_rows(appointment.id)
    assert [(r["action"], r["actor_role"]) for r in rows] == [("admin.refund", "admin")] * 2
    assert rows[0]["details"]["reason"] == "Video froze for 10 minutes" and rows[0]["details"]["full"] is False
    assert rows[1]["details"] | {"paymentId": None} == {"reason": "Goodwill: the rest", "refundCents": 2500,
                                                        "full": True, "paymentId": None}
    with pytest.raises(InvalidTransition):  # nothing left
        admin_actions.perform(admin.actor, "refund", appointment.id, "again")


@pytest.mark.parametrize("amount", [0, -5, 3501])
def test_a_refund_amount_outside_what_is_left_is_refused(admin, booked, amount):
    _, appointment = booked
    with pytest.raises(ValidationFailed):
        admin_actions.perform(admin.actor, "refund", appointment.id, "why", amount_cents=amount)
    assert state(appointment.id) == ("confirmed", 0, "succeeded") and audit_rows(appointment.id) == []


@pytest.mark.parametrize("reason", [None, "", "   \n "])
def test_every_action_needs_a_reason(admin, booked, reason):
    _, appointment = booked
    for key in ("refund", "cancel_for_doctor", "mark_no_show", "resend_notice"):
        with pytest.raises(ValidationFailed) as refused:
            admin_actions.perform(admin.actor, key, appointment.id, reason)
        assert refused.value.details == {"field": "reason"}
    assert state(appointment.id) == ("confirmed", 0, "succeeded")


@pytest.mark.parametrize("role", ["patient", "doctor"])
def test_only_admins(make_user, booked, role):
    _, appointment = booked
    with pytest.raises(Forbidden):
        admin_actions.perform(make_user(role).actor, "refund", appointment.id, "mine")
    assert state(appointment.id) == ("confirmed", 0, "succeeded")


def test_cancel_for_the_doctor_refunds_in_full_through_the_cancellation(admin, booked):
    _, appointment = booked
    done = admin_actions.perform(admin.actor, "cancel_for_doctor", appointment.id, "Doctor is ill today")
    assert done.amount_cents == 3500 and state(appointment.id) == ("cancelled", 3500, "refunded")
    with unit_of_work(SYSTEM) as uow:
        found = uow.session.get(Appointment, appointment.id)
        assert (found.cancelled_by, found.cancel_reason) == ("admin", "Doctor is ill today")
        actions = uow.session.scalars(text("SELECT action FROM audit_events WHERE subject_id = :s ORDER BY id"),
                                      {"s": str(appointment.id)}).all()
    assert "appointment.cancelled" in actions and "admin.cancel_for_doctor" in actions


def test_mark_a_no_show_once_started_then_undo_it(admin, booked, clock_at):
    _, appointment = booked
    with pytest.raises(InvalidTransition):  # not started yet
        admin_actions.perform(admin.actor, "mark_no_show", appointment.id, "Patient never came")
    clock_at(paris(3, 14, 20))
    admin_actions.perform(admin.actor, "mark_no_show", appointment.id, "Patient never came")
    assert state(appointment.id)[0] == "no_show"
    admin_actions.perform(admin.actor, "undo_no_show", appointment.id, "They were on the phone with the doctor")
    assert state(appointment.id)[0] == "completed"
    with pytest.raises(InvalidTransition):  # a completed consultation is not a no-show to undo
        admin_actions.perform(admin.actor, "undo_no_show", appointment.id, "again")
    assert [r["action"] for r in audit_rows(appointment.id)] == ["admin.mark_no_show", "admin.undo_no_show"]


def test_resend_the_confirmation_to_the_patient(admin, booked):
    patient, appointment = booked

    def sent():
        with unit_of_work(SYSTEM) as uow:
            return uow.session.scalar(select(text("count(*)")).select_from(OutboxMessage).where(
                OutboxMessage.recipient == patient.email, OutboxMessage.dedupe_key.like("resend:%")))

    admin_actions.perform(admin.actor, "resend_notice", appointment.id, "Patient says the email never came")
    admin_actions.perform(admin.actor, "resend_notice", appointment.id, "Once more, they checked spam")
    assert sent() == 2
    assert [r["details"]["reason"] for r in audit_rows(appointment.id)] == [
        "Patient says the email never came", "Once more, they checked spam"]


def test_the_actions_offered_follow_the_state():
    assert admin_actions.available("confirmed", False, 3500) == ["refund", "cancel_for_doctor", "resend_notice"]
    assert admin_actions.available("confirmed", True, 0) == ["cancel_for_doctor", "resend_notice", "mark_no_show"]
    assert admin_actions.available("no_show", True, 3500) == ["refund", "undo_no_show"]
    assert admin_actions.available("completed", True, 0) == []
