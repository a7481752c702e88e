"""Scheduling fixtures: a fixed clock (Monday 2 March 2026, 08:00 in Paris) and a Paris doctor."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, Slot

PARIS = ZoneInfo("Europe/Paris")
MONDAY_8AM = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)


def paris(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def clock_at(time_machine):
    def move(moment: datetime = MONDAY_8AM) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment

    move()
    return move


@pytest.fixture
def doctor(make_user, clock_at):
    return make_user("doctor", full_name="Dr Paris", timezone="Europe/Paris")


@pytest.fixture
def add_slots():
    def add(doctor_id, starts, *, available=True, length=30, source="doctor"):
        with unit_of_work(SYSTEM) as uow:
            for start in starts:
                uow.session.add(Slot(doctor_id=doctor_id, start_at=start,
                                     end_at=start + timedelta(minutes=length),
                                     is_available=available, source=source))

    return add


@pytest.fixture
def book(make_user):
    def create(doctor_id, start, status="confirmed"):
        patient = make_user("patient")
        with unit_of_work(SYSTEM) as uow:
            uow.session.add(Appointment(doctor_id=doctor_id, patient_id=patient.patient.id, start_at=start,
                                        end_at=start + timedelta(minutes=30), status=status))
        return patient

    return create


def starts(response_json) -> list[datetime]:
    return [datetime.fromisoformat(s["start"]).astimezone(PARIS)
            for s in response_json["slots"] if s["isAvailable"]]


@pytest.fixture
def csrf_header(client):
    """The X-CSRFToken header a signed-in browser page would send with an API write."""
    import re

    def header() -> dict:
        page = client.get("/logout").get_data(as_text=True)
        return {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)}

    return header
