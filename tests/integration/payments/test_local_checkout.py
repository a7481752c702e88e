"""Paying on the local checkout (SPEC §8): Stripe's test cards, signed events, the same webhook."""

import re
import uuid

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, AuditEvent, Payment, Slot, StripeEvent
from tests.integration.scheduling.conftest import paris

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token(client, path="/logout") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def open_checkout(client, appointment_id) -> str:
    response = client.post(f"/checkout/{appointment_id}/pay", data={"csrf_token": token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert re.search(r"/pay/cs_local_[0-9a-f]{24}$", location)
    return location.split("://", 1)[-1].split("/", 1)[1].join(["/", ""])


def pay(client, pay_path, card, expiry="12/34", cvc="123"):
    return client.post(pay_path, data={"card_number": card, "expiry": expiry, "cvc": cvc,
                                       "csrf_token": token(client, pay_path)})


def rows(appointment_id):
    with unit_of_work(SYSTEM) as uow:
        appointment = uow.session.get(Appointment, appointment_id)
        payments = uow.session.scalars(select(Payment).where(Payment.appointment_id == appointment_id)).all()
        slot = uow.session.get(Slot, appointment.slot_id) if appointment.slot_id else None
        return appointment, payments, slot


def test_card_4242_pays_and_confirms_the_appointment(client, held, login):
    patient, pending = held()
    login(patient.email)
    pay_path = open_checkout(client, pending.id)
    assert open_checkout(client, pending.id) == pay_path  # the same open session, not a second one
    page = client.get(pay_path)
    assert page.status_code == 200 and "Pay €35" in page.get_data(as_text=True)
    done = pay(client, pay_path, "4242 4242 4242 4242")
    assert done.headers["Location"] == f"/checkout/{pending.id}/done"
    appointment, payments, slot = rows(pending.id)
    assert appointment.status == "confirmed" and appointment.hold_expires_at is None
    [payment] = payments
    assert (payment.status, payment.provider, payment.amount_cents) == ("succeeded", "local", 3500)
    assert payment.provider_payment_id.startswith("pi_local_")
    assert slot.locked_by is None  # the appointment itself blocks the time now
    assert "Your consultation is booked" in client.get(done.headers["Location"]).get_data(as_text=True)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(AuditEvent).where(AuditEvent.subject_id == str(pending.id))).action \
            == "payment.confirmed"
        assert uow.session.scalar(select(StripeEvent).where(StripeEvent.type == "checkout.session.completed")) \
            .processed_at is not None
    api = client.get(f"/api/appointments/{pending.id}").get_json()
    assert api["status"] == "confirmed"
    assert api["payment"] == {"status": "succeeded", "provider": "local", "amount": 3500, "refundedAmount": 0,
                              "currency": "EUR"}
    assert client.get(pay_path).headers["Location"] == f"/checkout/{pending.id}/done"  # paid: no second charge


def test_card_0002_is_declined_with_a_page_to_retry(client, held, login):
    patient, pending = held()
    login(patient.email)
    pay_path = open_checkout(client, pending.id)
    declined = pay(client, pay_path, "4000000000000002")
    assert declined.status_code == 402
    assert "Your card was declined" in declined.get_data(as_text=True)
    appointment, [payment], _ = rows(pending.id)
    assert (appointment.status, payment.status, payment.failure_code) == ("pending", "failed", "generic_decline")
    assert pay(client, pay_path, "4242424242424242").status_code == 302  # retry on the same session
    appointment, [payment], _ = rows(pending.id)
    assert (appointment.status, payment.status, payment.failure_code) == ("confirmed", "succeeded", None)


def test_card_3155_needs_the_extra_confirmation_step(client, held, login):
    patient, pending = held()
    login(patient.email)
    pay_path = open_checkout(client, pending.id)
    step = pay(client, pay_path, "4000 0025 0000 3155")
    assert step.headers["Location"] == pay_path + "/authenticate"
    assert "Complete authentication" in client.get(step.headers["Location"]).get_data(as_text=True)
    failed = client.post(step.headers["Location"], data={"decision": "fail", "csrf_token": token(client)})
    assert failed.headers["Location"] == pay_path
    assert rows(pending.id)[1][0].failure_code == "authentication_required"
    client.post(step.headers["Location"], data={"decision": "complete", "csrf_token": token(client)})
    assert rows(pending.id)[0].status == "confirmed"


def test_bad_card_details_change_nothing(client, held, login):
    patient, pending = held()
    login(patient.email)
    pay_path = open_checkout(client, pending.id)
    for card, expiry, cvc, wrong in (("4242424242424241", "12/34", "123", {"card_number"}),
                                     ("4242424242424242", "13/34", "123", {"expiry"}),
                                     ("4242424242424242", "01/20", "123", {"expiry"}),
                                     ("4242424242424242", "12/34", "abc", {"cvc"}),
                                     ("5555555555554444", "12/34", "123", {"card_number"}),
                                     ("", "", "", {"card_number", "expiry", "cvc"})):
        response = pay(client, pay_path, card, expiry, cvc)
        assert response.status_code == 422, (card, expiry, cvc)
        html = response.get_data(as_text=True)
        assert "Please correct the card details below." in html
        # Issue 24: each wrong field says so, and what was typed is kept.
        assert set(re.findall(r'id="(card_number|expiry|cvc)-error"', html)) == wrong, (card, expiry, cvc)
        for name, typed in (("card_number", card), ("expiry", expiry), ("cvc", cvc)):
            assert re.search(rf'id="{name}"[^>]*value="{re.escape(typed)}"', html), (name, typed)
    appointment, [payment], _ = rows(pending.id)
    assert (appointment.status, payment.status) == ("pending", "pending")


def test_nobody_else_sees_or_pays_a_checkout(client, held, onboarded, login):
    patient, pending = held()
    login(patient.email)
    pay_path = open_checkout(client, pending.id)
    client.post("/logout", data={"csrf_token": token(client)})
    stranger = onboarded()
    login(stranger.email)
    assert client.get(pay_path).status_code == 404
    assert client.post(f"/checkout/{pending.id}/pay", data={"csrf_token": token(client)}).headers["Location"] \
        == "/dashboard"
    assert client.get(f"/api/appointments/{pending.id}").status_code == 404
    assert client.get(f"/pay/cs_local_{uuid.uuid4().hex[:24]}").status_code == 404


def test_the_profile_comes_before_the_first_payment(client, doctor, make_user, login, csrf_header):
    from core.booking.pending import create_pending

    patient = make_user("patient")
    pending = create_pending(patient.actor, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    api = client.post("/api/payment/start", json={"appointmentId": str(pending.id)}, headers=csrf_header())
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "ERR_PROFILE_INCOMPLETE"
    page = client.post(f"/checkout/{pending.id}/pay", data={"csrf_token": token(client)})
    assert page.headers["Location"] == f"/checkout/{pending.id}"
    assert "save your health profile first" in client.get(page.headers["Location"]).get_data(as_text=True)
    assert rows(pending.id)[1] == []


def test_create_pending_opens_the_session_for_an_onboarded_patient(client, doctor, onboarded, make_user, login,
                                                                   csrf_header):
    for patient, has_session in ((onboarded(), True), (make_user("patient"), False)):
        login(patient.email)
        body = client.post("/api/appointments/create-pending", headers=csrf_header(), json={
            "doctorId": str(doctor.doctor.id), "start": paris(3, 14 if has_session else 16).isoformat()}).get_json()
        assert (body["checkoutSessionId"] or "").startswith("cs_local_") is has_session
        if has_session:
            again = client.post("/api/payment/start", json={"appointmentId": body["id"]}, headers=csrf_header())
            assert again.status_code == 201 and again.get_json()["checkoutSessionId"] == body["checkoutSessionId"]
        client.post("/logout", headers=csrf_header())


def test_the_profile_on_the_checkout_page_goes_straight_to_payment(client, doctor, make_user, login):
    from core.booking.pending import create_pending

    patient = make_user("patient")
    pending = create_pending(patient.actor, doctor.doctor.id, paris(3, 14))
    login(patient.email)
    page = client.get(f"/checkout/{pending.id}").get_data(as_text=True)
    assert f'action="/checkout/{pending.id}/profile"' in page and "Save and pay €35 by card" in page
    invalid = client.post(f"/checkout/{pending.id}/profile", data={"gender": "female",
                                                                   "csrf_token": token(client, f"/checkout/{pending.id}")})
    assert invalid.status_code == 422
    assert "Enter your date of birth." in invalid.get_data(as_text=True)
    assert rows(pending.id)[1] == []
    saved = client.post(f"/checkout/{pending.id}/profile", data={
        "date_of_birth": "1990-05-04", "gender": "female", "csrf_token": token(client, f"/checkout/{pending.id}")})
    assert saved.status_code == 303 and "/pay/cs_local_" in saved.headers["Location"]
    assert "Save and pay" not in client.get(f"/checkout/{pending.id}").get_data(as_text=True)


def test_an_expiry_typed_1230_or_12_slash_2030_is_accepted(client, held, login):
    patient, pending = held()
    login(patient.email)
    pay_path = open_checkout(client, pending.id)
    response = pay(client, pay_path, "4242 4242 4242 4242", expiry="1230")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    appointment, [payment], _ = rows(pending.id)
    assert (appointment.status, payment.status) == ("confirmed", "succeeded")
