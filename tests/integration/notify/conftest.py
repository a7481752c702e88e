"""Notification fixtures: the booking clock (Monday 2 March 2026, 08:00 Paris), a Paris doctor,
a paid appointment made through the real checkout (credit), deferred tasks recorded and run by hand."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest
from icalendar import Calendar
from sqlalchemy import select

from core import tasks
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import OutboxMessage
from core.payments import credits
from core.payments.checkout import pay_with_credit
from tests.integration.booking.conftest import onboarded  # noqa: F401
from tests.integration.payments.conftest import held  # noqa: F401
from tests.integration.scheduling.conftest import add_slots, clock_at, doctor, paris  # noqa: F401

EVENT = "jobs.notify.appointment_event"
DELIVER = "jobs.notify.deliver_message"


class Deferred(list):
    """The tasks deferred after each commit, recorded instead of queued; `run` runs some as a
    worker would (in the test's transaction), recording what they defer in turn."""

    def paths(self) -> list[str]:
        return [path for path, _, _ in self]

    def take(self, path: str) -> list[tuple[tuple, dict]]:
        taken = [(args, kwargs) for p, args, kwargs in self if p == path]
        self[:] = [c for c in self if c[0] != path]
        return taken

    def run(self, path: str, *, times: int = 1) -> list:
        results = []
        for args, kwargs in self.take(path):
            for _ in range(times):
                results.append(_call(path, args, kwargs))
        return results


def _call(path: str, args: tuple, kwargs: dict):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


@pytest.fixture
def deferred(db):
    calls = Deferred()
    previous = tasks.set_dispatcher(lambda path, args, kwargs: calls.append((path, args, kwargs)))
    yield calls
    tasks.set_dispatcher(previous)


@dataclass
class Booked:
    patient: object
    appointment_id: object


@pytest.fixture
def booked(held, deferred):  # noqa: F811
    """A consultation on Tuesday 3 March 2026, 14:00 Paris, paid with credit (the real
    `confirm_paid`, whose deferred notice is left in `deferred`)."""

    def create(start=None, patient=None, **patient_fields) -> Booked:
        patient, pending = held(start=start, patient=patient)
        if patient_fields:
            set_user(patient.user.id, **patient_fields)
        with unit_of_work(SYSTEM) as uow:
            credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="test grant")
        pay_with_credit(patient.actor, pending.id)
        return Booked(patient, pending.id)

    return create


def set_user(user_id, **fields):
    from sqlalchemy import update

    from core.models import Patient, User

    phone = fields.pop("phone", None)
    with unit_of_work(SYSTEM) as uow:
        if fields:
            uow.session.execute(update(User).where(User.id == user_id).values(**fields))
        if phone:
            uow.session.execute(update(Patient).where(Patient.user_id == user_id).values(phone=phone))


def outbox(*where) -> list[OutboxMessage]:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.dedupe_key)))


def about(appointment_id) -> list[OutboxMessage]:
    return outbox(OutboxMessage.dedupe_key.contains(str(appointment_id)))


def invite_of(message: OutboxMessage) -> Calendar:
    (attachment,) = message.attachments
    return Calendar.from_ical(attachment["content"])
