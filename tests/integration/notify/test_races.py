"""Several workers at once, on committed rows and real separate connections: an event's notices,
a reminder and a delivery each happen once."""

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from core import clock, tasks
from core import db as core_db
from core.actor import SYSTEM
from core.db import unit_of_work
from core.notify.appointments import notify_appointment_event
from core.notify.delivery import DevOutbox, deliver
from core.notify.outbox import Outgoing, queue_once
from core.notify.reminders import send_due_reminders
from tests.integration.notify.conftest import DELIVER

WORKERS = 6


@pytest.fixture
def recorded(app):
    calls, lock = [], threading.Lock()

    def record(path, args, kwargs):
        with lock:
            calls.append((path, args))

    previous = tasks.set_dispatcher(record)
    yield calls
    tasks.set_dispatcher(previous)


@pytest.fixture
def owner(database_url):
    """The owner's connection, to read and clean the outbox (the app role may not delete)."""
    engine = create_engine(database_url)
    marker = f"race-{uuid.uuid4().hex[:8]}"
    yield engine, marker
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox_messages WHERE dedupe_key LIKE :m"), {"m": f"%{marker}%"})
    engine.dispose()


def committed_appointment(clinic, start) -> uuid.UUID:
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        return conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
            VALUES (:d, :p, :s, :e, 'confirmed') RETURNING id"""),
            {"d": clinic.doctor_id, "p": clinic.patients[0][1], "s": start, "e": start + timedelta(minutes=30)}).scalar()


def race(target, n=WORKERS):
    barrier, results, errors = threading.Barrier(n), [], []

    def run():
        barrier.wait()
        try:
            results.append(target())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    return results


def outbox_keys(engine, like: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT dedupe_key FROM outbox_messages WHERE dedupe_key LIKE :k ORDER BY 1"),
                                 {"k": like}).scalars())


def test_workers_racing_on_one_confirmation_queue_it_once(committed_clinic, recorded, owner):
    engine, _ = owner
    clinic = committed_clinic(1)
    appointment_id = committed_appointment(clinic, clock.now() + timedelta(days=3))
    try:
        results = race(lambda: notify_appointment_event("confirmed", appointment_id, 0))
        assert sorted(results) == [0] * (WORKERS - 1) + [2]
        assert outbox_keys(engine, f"%{appointment_id}%") == [f"confirmed:{appointment_id}:0:doctor:email",
                                                              f"confirmed:{appointment_id}:0:patient:email"]
        assert [path for path, _ in recorded] == [DELIVER, DELIVER]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox_messages WHERE dedupe_key LIKE :k"), {"k": f"%{appointment_id}%"})


def test_workers_sweeping_reminders_at_once_queue_each_once(committed_clinic, recorded, owner):
    engine, _ = owner
    clinic = committed_clinic(1)
    appointment_id = committed_appointment(clinic, clock.now() + timedelta(hours=23))
    try:
        results = race(send_due_reminders)
        assert outbox_keys(engine, f"%{appointment_id}%") == [f"reminder-24h:{appointment_id}:0:patient:email"]
        assert sorted(results) == [0] * (WORKERS - 1) + [1]
        assert [path for path, _ in recorded] == [DELIVER]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox_messages WHERE dedupe_key LIKE :k"), {"k": f"%{appointment_id}%"})


def test_two_workers_given_one_message_send_it_once(app, recorded, owner):
    _, marker = owner
    with unit_of_work(SYSTEM) as uow:
        outbox_id = queue_once(uow, Outgoing("email", "race@tests.doktu.eu", "Hello", "Hi"), f"test:{marker}")
    sending, release, sends = threading.Event(), threading.Event(), []

    class SlowMailer:
        name = "sendgrid"

        def send(self, email):
            sends.append(email.to)
            sending.set()
            release.wait(10)

    first = []
    worker = threading.Thread(target=lambda: first.append(deliver(outbox_id, mailer=SlowMailer(), sms=DevOutbox())))
    worker.start()
    assert sending.wait(10)
    assert deliver(outbox_id, mailer=SlowMailer(), sms=DevOutbox()) == "busy"  # claimed by the first worker
    release.set()
    worker.join(10)
    assert first == ["sent"] and sends == ["race@tests.doktu.eu"]
    assert deliver(outbox_id, mailer=SlowMailer(), sms=DevOutbox()) == "sent" and len(sends) == 1
