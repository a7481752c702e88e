"""Doctor portal fixtures: the scheduling clock (Monday 2 March 2026, 08:00 in Paris) and doctor,
onboarded patients, and paid appointments as the payment webhook leaves them."""

from datetime import date, timedelta

import pytest

from core import tasks
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, Payment
from tests.integration.scheduling.conftest import add_slots, book, clock_at, csrf_header, doctor  # noqa: F401


@pytest.fixture
def patient(make_user, clock_at):  # noqa: F811
    """A patient with a complete health profile."""

    def create(name: str = "Noor Haddad", **profile):
        from core import clock

        return make_user("patient", full_name=name, date_of_birth=date(1985, 7, 1), gender="female",
                         onboarded_at=clock.now(), primary_conditions=profile.pop("conditions", ["Asthma"]),
                         allergies=profile.pop("allergies", ["Penicillin"]), **profile)

    return create


@pytest.fixture
def appointment():
    """An appointment of `with_doctor` with `patient` (paid by card unless status is pending/cancelled)."""

    def create(with_doctor, patient, start, status="confirmed", amount=3500):
        with unit_of_work(SYSTEM) as uow:
            row = Appointment(doctor_id=with_doctor.doctor.id, patient_id=patient.patient.id, start_at=start,
                              end_at=start + timedelta(minutes=30), status=status, price_cents=amount,
                              cancelled_at=start if status == "cancelled" else None,
                              cancelled_by="patient" if status == "cancelled" else None)
            uow.session.add(row)
            uow.session.flush()
            if status in ("confirmed", "paid", "completed"):
                uow.session.add(Payment(user_id=patient.user.id, appointment_id=row.id, kind="visit",
                                        provider="local", status="succeeded", amount_cents=amount,
                                        provider_payment_id=f"pi_local_{row.id.hex[:8]}"))
            return row.id

    return create


@pytest.fixture
def deferred():
    """Side effects deferred until after commit (the gateway refund), recorded instead of queued."""
    calls: list = []
    previous = tasks.set_dispatcher(lambda path, args, kwargs: calls.append((path, args, kwargs)))
    yield calls
    tasks.set_dispatcher(previous)
