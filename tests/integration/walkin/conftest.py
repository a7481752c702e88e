"""Walk-in fixtures: the booking ones, a doctor taking consultations now, a patient who paid."""

import pytest

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Doctor
from core.payments.local_checkout import deliver_success
from core.walkin import queue
from tests.integration.booking.conftest import onboarded  # noqa: F401
from tests.integration.scheduling.conftest import clock_at, csrf_header, doctor, paris  # noqa: F401


@pytest.fixture
def taking(make_user):
    """A doctor, Online and taking consultations now."""

    def create(name="Dr Now"):
        made = make_user("doctor", full_name=name, timezone="Europe/Paris")
        assert queue.set_taking_now(made.actor, True) is True
        return made

    return create


def pay_by_card(patient) -> queue.Started:
    """Press "See a doctor now" and pay on the local checkout (a signed webhook, as Stripe's)."""
    started = queue.start_request(patient.actor)
    with unit_of_work(SYSTEM) as uow:
        from core.models import Payment, WalkinRequest

        row = uow.session.get(WalkinRequest, started.request_id)
        payment = uow.session.get(Payment, row.payment_id)
        session_id, amount = payment.provider_session_id, payment.amount_cents
    outcome = deliver_success(session_id, amount, {"walkin_id": str(started.request_id),
                                                   "payment_id": str(row.payment_id)})
    assert outcome.outcome == "walkin_waiting"
    return started


@pytest.fixture
def waiting(onboarded):  # noqa: F811
    """A patient who pressed the button and paid by card: waiting in the queue."""

    def create(patient=None):
        patient = patient or onboarded()
        return patient, pay_by_card(patient)

    return create


def doctor_row(doctor_id):
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(Doctor, doctor_id)


__all__ = ["clock", "doctor_row", "pay_by_card"]
