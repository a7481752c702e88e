"""Paying with consultation credit (SPEC §5, §8): the ledger spends, never below zero, and two
checkouts spending the last credit at once: one wins."""

import re
import threading
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, text

from core import clock
from core.actor import SYSTEM, Actor
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.errors import PaymentFailed
from core.models import Appointment, CreditEntry, Patient, Payment
from core.payments import credits
from core.payments.checkout import pay_with_credit
from tests.integration.scheduling.conftest import PARIS

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def grant(user_id, cents):
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, user_id, "grant", cents, note="test grant")


def test_a_patient_pays_with_credit_from_the_checkout_page(client, held, login):
    patient, pending = held()
    grant(patient.user.id, 5000)
    login(patient.email)
    page = client.get(f"/checkout/{pending.id}").get_data(as_text=True)
    assert "Use €35 of my credit (€50 available)" in page
    token = TOKEN.search(page).group(1)
    done = client.post(f"/checkout/{pending.id}/pay-with-credit", data={"csrf_token": token})
    assert done.headers["Location"] == f"/checkout/{pending.id}/done"
    assert "Paid €35 with credit" in client.get(done.headers["Location"]).get_data(as_text=True)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, pending.id).status == "confirmed"
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == pending.id))
        assert (payment.provider, payment.status, payment.amount_cents) == ("credit", "succeeded", 3500)
        spend = uow.session.scalar(select(CreditEntry).where(CreditEntry.appointment_id == pending.id))
        assert (spend.kind, spend.amount_cents, spend.balance_after_cents) == ("spend", -3500, 1500)


def test_not_enough_credit_is_refused_and_writes_nothing(client, held, login):
    patient, pending = held()
    grant(patient.user.id, 3499)
    with pytest.raises(PaymentFailed):
        pay_with_credit(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, pending.id).status == "pending"
        assert uow.session.scalars(select(Payment).where(Payment.appointment_id == pending.id)).all() == []
        assert credits.balance(uow.session, patient.user.id) == 3499
    login(patient.email)
    assert "of my credit" not in client.get(f"/checkout/{pending.id}").get_data(as_text=True)


def test_credit_cannot_pay_someone_elses_appointment(held, onboarded):
    _, pending = held()
    thief = onboarded()
    grant(thief.user.id, 3500)
    from core.errors import NotFound

    with pytest.raises(NotFound):
        pay_with_credit(thief.actor, pending.id)


def test_two_checkouts_racing_for_the_last_credit_one_wins(app):
    """Committed rows and real concurrent transactions: the ledger's lock and check decide."""
    suffix = uuid.uuid4().hex[:8]
    start = datetime.combine(date.today() + timedelta(days=4), time(16), PARIS)
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        doctors = []
        for i in range(2):
            du = s.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                "(:e, 'doctor', 'Dr Credit', 'x') RETURNING id"),
                           {"e": f"credit-doc{i}-{suffix}@tests.doktu.eu"}).scalar()
            doctors.append(s.execute(text("INSERT INTO doctors (user_id, display_name, specialty) VALUES "
                                          "(:u, 'Dr Credit', 'GP') RETURNING id"), {"u": du}).scalar())
        user_id = s.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                 "(:e, 'patient', 'Saver', 'x') RETURNING id"),
                            {"e": f"saver-{suffix}@tests.doktu.eu"}).scalar()
        s.add(Patient(user_id=user_id, date_of_birth=date(1980, 1, 1), gender="female", onboarded_at=clock.now()))
        s.flush()
        credits.add_entry(s, user_id, "grant", 3500, note="one credit")
    actor = Actor(user_id, "patient")
    appointments = [create_pending(actor, d, start).id for d in doctors]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def spend(appointment_id):
        barrier.wait()
        try:
            pay_with_credit(actor, appointment_id)
            outcomes.append("paid")
        except PaymentFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend, args=(a,)) for a in appointments]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid", "refused"]
    with unit_of_work(SYSTEM) as uow:
        assert credits.balance(uow.session, user_id) == 0
        statuses = sorted(uow.session.get(Appointment, a).status for a in appointments)
        assert statuses == ["confirmed", "pending"]
