"""Booking fixtures: the scheduling clock and doctor, and onboarded patients."""

from datetime import date

import pytest

from tests.integration.scheduling.conftest import add_slots, book, clock_at, csrf_header, doctor  # noqa: F401


@pytest.fixture
def onboarded(make_user, clock_at):  # noqa: F811
    """A patient whose health profile is complete (the gate before paying)."""

    def create(**kwargs):
        from core import clock

        return make_user("patient", date_of_birth=date(1985, 7, 1), gender="female", onboarded_at=clock.now(),
                         **kwargs)

    return create
