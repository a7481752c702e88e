"""The patient dashboard (SPEC §9): tabs, buttons enabled exactly when the policy allows, the
refund stated before confirming, and the reschedule and cancel flows as pages."""

import re
from datetime import UTC, timedelta

from sqlalchemy import select

from core.actor import SYSTEM
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.models import Appointment, Payment
from core.payments import credits
from core.payments.checkout import confirm_paid, start_payment
from tests.integration.scheduling.conftest import paris

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token(client, path="/dashboard") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def paid_appointment(patient, doctor_id, start):
    pending = create_pending(patient.actor, doctor_id, start)
    start_payment(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == pending.id).with_for_update())
        confirm_paid(uow, payment, provider_payment_id="pi_dash_test")
    return pending


def test_the_tabs_answer_and_mark_the_current_one(client, onboarded, login):
    login(onboarded().email)
    for path, label in (("/dashboard", "Appointments"), ("/dashboard/book", "Book new"),
                        ("/dashboard/profile", "Health profile"), ("/dashboard/billing", "Billing")):
        html = client.get(path).get_data(as_text=True)
        assert f'aria-current="page">{label}</a>' in html, path


def test_buttons_follow_the_policy_to_the_minute(client, doctor, onboarded, login, clock_at):
    patient = onboarded()
    paid = paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Confirmed" in html and "2 reschedules left." in html and "Cancelling now refunds €35." in html
    assert f"/dashboard/appointments/{paid.id}/reschedule" in html and f"/dashboard/appointments/{paid.id}/cancel" in html
    clock_at(paris(3, 13))  # exactly 60 minutes before: still allowed
    login(patient.email)  # a day later: the 12-hour session has ended
    assert f"/dashboard/appointments/{paid.id}/cancel" in client.get("/dashboard").get_data(as_text=True)
    clock_at(paris(3, 13, 1))  # 59 minutes before: neither
    html = client.get("/dashboard").get_data(as_text=True)
    assert f"/dashboard/appointments/{paid.id}/cancel" not in html
    assert f"/dashboard/appointments/{paid.id}/reschedule" not in html
    assert "Appointments can be rescheduled up to 60 minutes before they start." in html
    page = client.get(f"/dashboard/appointments/{paid.id}/cancel").get_data(as_text=True)
    assert "Consultations can be cancelled up to 60 minutes before they start." in page


def test_cancel_states_the_refund_then_refunds_to_the_card(client, doctor, onboarded, login):
    patient = onboarded()
    paid = paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    page = client.get(f"/dashboard/appointments/{paid.id}/cancel").get_data(as_text=True)
    assert "How would you like your €35 back?" in page and "As Doktu credit (€35" in page
    done = client.post(f"/dashboard/appointments/{paid.id}/cancel",
                       data={"refund_as": "card", "reason": "Feeling better", "csrf_token": token(client)})
    assert done.headers["Location"] == "/dashboard"
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Your appointment is cancelled. €35 is refunded to your card" in html
    assert "Cancelled" in html and "€35 refunded" in html
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, paid.id).status == "cancelled"
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == paid.id))
        assert (payment.status, payment.refunded_cents) == ("refunded", 3500)
    billing = client.get("/dashboard/billing").get_data(as_text=True)
    assert "Refunded" in billing and "€35 refunded" in billing


def test_cancel_as_credit_shows_in_billing(client, doctor, onboarded, login):
    patient = onboarded()
    paid = paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    client.post(f"/dashboard/appointments/{paid.id}/cancel", data={"refund_as": "credit", "csrf_token": token(client)})
    with unit_of_work(SYSTEM) as uow:
        assert credits.balance(uow.session, patient.user.id) == 3500
    billing = client.get("/dashboard/billing").get_data(as_text=True)
    assert "Refund as credit" in billing and "+€35" in billing


def test_reschedule_twice_from_the_pages_then_no_more(client, doctor, onboarded, login):
    patient = onboarded()
    paid = paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    for n, new in enumerate((paris(3, 16, 15), paris(4, 11, 30)), start=1):  # offered starts (45-min rhythm)
        page = client.get(f"/dashboard/appointments/{paid.id}/reschedule?day={new.date().isoformat()}")
        html = page.get_data(as_text=True)
        assert new.astimezone(UTC).isoformat() in html
        moved = client.post(f"/dashboard/appointments/{paid.id}/reschedule",
                            data={"start": new.isoformat(), "csrf_token": token(client)})
        assert moved.headers["Location"] == "/dashboard"
        assert "Your appointment is moved to" in client.get("/dashboard").get_data(as_text=True)
        with unit_of_work(SYSTEM) as uow:
            row = uow.session.get(Appointment, paid.id)
            assert (row.start_at, row.reschedule_count) == (new, n)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "An appointment can be rescheduled at most 2 times." in html
    refused = client.post(f"/dashboard/appointments/{paid.id}/reschedule",
                          data={"start": paris(5, 11).isoformat(), "csrf_token": token(client)})
    assert "at most 2 times" in client.get(refused.headers["Location"]).get_data(as_text=True)


def test_a_pending_hold_offers_pay_now_and_give_back(client, doctor, onboarded, login):
    patient = onboarded()
    pending = create_pending(patient.actor, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Awaiting payment" in html and f"/checkout/{pending.id}" in html and "Give back this time" in html
    client.post(f"/dashboard/appointments/{pending.id}/cancel", data={"csrf_token": token(client)})
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, pending.id).status == "cancelled"


def test_someone_elses_appointment_pages_are_not_found(client, doctor, onboarded, login):
    owner, stranger = onboarded(), onboarded()
    paid = paid_appointment(owner, doctor.doctor.id, paris(3, 14))
    login(stranger.email)
    for path in (f"/dashboard/appointments/{paid.id}/cancel", f"/dashboard/appointments/{paid.id}/reschedule"):
        assert client.get(path).status_code == 404
    refused = client.post(f"/dashboard/appointments/{paid.id}/cancel", data={"csrf_token": token(client)})
    assert refused.status_code == 404
    assert paid.start - timedelta(hours=1)  # untouched
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, paid.id).status == "confirmed"
