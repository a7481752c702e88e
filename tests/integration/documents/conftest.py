"""Documents fixtures: a Paris doctor, a patient with a date of birth, and a consultation between them."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment
from tests.integration.scheduling.conftest import clock_at, paris  # noqa: F401


@dataclass
class Visit:
    doctor: object
    patient: object
    appointment_id: object


@pytest.fixture
def visit(make_user, clock_at):  # noqa: F811
    """Chloé Bernard's consultation with Dr Camille Martin (RPPS 10003{n}789), Monday 2 March 2026 09:00
    Paris; the clock at 09:10 (during the visit). `status` and `start` can be changed."""

    def create(status="confirmed", start=None, *, doctor=None, patient=None):
        doctor = doctor or make_user("doctor", full_name="Dr. Camille Martin", specialty="General practice")
        patient = patient or make_user("patient", full_name="Chloé Bernard", date_of_birth=date(1991, 5, 17))
        start = start or paris(2, 9)
        with unit_of_work(SYSTEM) as uow:
            a = Appointment(doctor_id=doctor.doctor.id, patient_id=patient.patient.id, start_at=start,
                            end_at=start + timedelta(minutes=30), status=status,
                            completed_at=start + timedelta(minutes=30) if status == "completed" else None,
                            cancelled_at=start if status == "cancelled" else None)
            uow.session.add(a)
            uow.session.flush()
            appointment_id = a.id
        clock_at(paris(2, 9, 10))
        return Visit(doctor, patient, appointment_id)

    return create


