"""Payment fixtures: the booking fixtures, plus a held appointment ready to pay."""

import pytest

from core.booking.pending import create_pending
from tests.integration.booking.conftest import onboarded  # noqa: F401
from tests.integration.scheduling.conftest import add_slots, book, clock_at, csrf_header, doctor, paris  # noqa: F401


@pytest.fixture
def held(doctor, onboarded):  # noqa: F811
    """An onboarded patient with a pending appointment on Tuesday 3 March 2026, 14:00 Paris."""

    def create(start=None, patient=None):
        patient = patient or onboarded()
        pending = create_pending(patient.actor, doctor.doctor.id, start or paris(3, 14))
        return patient, pending

    return create
