"""Video fixtures: the booking clock and doctor, a paid consultation, and a device test result."""

import copy

import pytest
from sqlalchemy import select

from core.actor import SYSTEM
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.models import Payment
from core.payments.checkout import confirm_paid, start_payment
from tests.integration.booking.conftest import onboarded  # noqa: F401
from tests.integration.scheduling.conftest import clock_at, csrf_header, doctor, paris  # noqa: F401

# What the wizard sends when every step passes (Chromium's fake devices measure about this).
GOOD_DETAILS = {
    "camera": {"width": 640, "height": 480, "frameRate": 20},
    "microphone": {"rmsDbfs": -10.4},
    "bandwidth": {"downMbps": 310.5, "upMbps": 120.25, "downBytes": 4194304, "upBytes": 1048576},
    "echo": {"score": 0.063},
    "stun": {"reachable": True, "rttMs": 12, "candidateType": "srflx"},
    "userAgent": "Mozilla/5.0 (pytest)",
}
START = paris(3, 14)  # Tuesday 3 March 2026, 14:00 in Paris (13:00 UTC)


def details(**steps) -> dict:
    """GOOD_DETAILS with some steps replaced (None drops the step)."""
    body = copy.deepcopy(GOOD_DETAILS)
    for step, value in steps.items():
        if value is None:
            body.pop(step, None)
        else:
            body[step] = value
    return body


@pytest.fixture
def consultation(doctor, onboarded):  # noqa: F811
    """A patient's paid (confirmed) consultation with `doctor` at START; returns (patient, appointment id)."""

    def create(start=START, patient=None):
        patient = patient or onboarded()
        pending = create_pending(patient.actor, doctor.doctor.id, start)
        start_payment(patient.actor, pending.id)
        with unit_of_work(SYSTEM) as uow:
            payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == pending.id).with_for_update())
            confirm_paid(uow, payment, provider_payment_id="pi_video_test")
        return patient, pending.id

    return create


@pytest.fixture
def post_result(client, csrf_header):  # noqa: F811
    """POST /api/video-test/result as the signed-in client."""

    def post(appointment_id=None, passed=True, body=None, **steps):
        payload = {"appointmentId": str(appointment_id) if appointment_id else None, "passed": passed,
                   "details": details(**steps) if body is None else body}
        return client.post("/api/video-test/result", json=payload, headers=csrf_header())

    return post
