"""The last two funnel steps (SPEC §9) are recorded by the video services: a patient's passed
device test and their joining; a failed test and the doctor's own steps are not funnel steps."""

from datetime import timedelta

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import FunnelEvent
from tests.integration.video.conftest import START


def steps(appointment_id) -> list[str]:
    with unit_of_work(SYSTEM) as uow:
        return [e.step for e in uow.session.scalars(select(FunnelEvent).where(
            FunnelEvent.appointment_id == appointment_id).order_by(FunnelEvent.id))]


def test_device_test_passed_and_joined_are_funnel_steps(consultation, login, client, post_result, clock_at):
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=8))
    login(patient.email)
    assert post_result(appointment, passed=False, microphone={"rmsDbfs": -80.0}).status_code == 201
    assert steps(appointment)[-1] == "paid"  # a failed test is not a step
    clock_at(START - timedelta(minutes=7))  # the fixed clock: a later test, not one at the same instant
    assert post_result(appointment).status_code == 201
    clock_at(START - timedelta(minutes=5))
    assert client.get(f"/api/appointments/{appointment}/join").status_code == 200
    assert steps(appointment) == ["slot_held", "checkout_started", "paid", "device_test_passed", "joined"]
