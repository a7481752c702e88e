"""Paid by one means, the other is closed (issue 23 item 2): paying with credit cancels the open card
checkout and expires it at the gateway; a card payment that still arrives for an appointment already
paid is refunded in full at once, audited and announced — never €70 kept for one consultation."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, AuditEvent, CreditEntry, OutboxMessage, OwedEffect, Payment
from core.owed import sweep_owed
from core.payments import checkout, credits
from core.payments.gateway import StripeGateway
from core.payments.webhooks import signed_event
from tests.integration.payments.test_owed_effects import gateway  # noqa: F401
from tests.integration.payments.test_stripe_gateway import RecordedStripe
from tests.integration.scheduling.conftest import paris

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def payments_of(appointment_id) -> dict[str, tuple[str, int]]:
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.scalars(select(Payment).where(Payment.appointment_id == appointment_id)).all()
        return {p.provider: (p.status, p.refunded_cents) for p in rows}


def test_a_card_session_paid_after_credit_is_refunded_in_full(client, doctor, onboarded, login, csrf_header,
                                                             gateway):  # noqa: F811
    patient = onboarded()
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="test grant")
    login(patient.email)
    created = client.post("/api/appointments/create-pending", headers=csrf_header(),
                          json={"doctorId": str(doctor.doctor.id), "start": paris(3, 14).isoformat()})
    assert created.status_code == 201
    appointment_id, card_session = created.get_json()["id"], created.get_json()["checkoutSessionId"]
    assert card_session  # a complete profile: the card session is open

    page = client.get(f"/checkout/{appointment_id}").get_data(as_text=True)
    paid = client.post(f"/checkout/{appointment_id}/pay-with-credit", data={"csrf_token": TOKEN.search(page).group(1)})
    assert paid.status_code == 302
    assert payments_of(appointment_id) == {"credit": ("succeeded", 0), "local": ("cancelled", 0)}
    (expiry,) = [e for e in owed_effects() if e.dedupe_key == f"expire:{card_session}"]
    assert (expiry.task, expiry.args) == ("core.payments.checkout.expire_checkout_session", [card_session])
    closed = client.get(f"/pay/{card_session}")  # the local page refuses the closed session
    assert closed.headers["Location"] == f"/checkout/{appointment_id}/done"

    # Stripe completed the card session before it was expired: the webhook brings a second €35.
    payload, header = signed_event("checkout.session.completed", {
        "id": card_session, "object": "checkout.session", "mode": "payment", "payment_status": "paid",
        "amount_total": 3500, "currency": "eur", "payment_intent": "pi_second_charge", "metadata": {}})
    answer = client.post("/api/payment/webhook", data=payload, headers={"Stripe-Signature": header})
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "refunded_duplicate"
    assert payments_of(appointment_id) == {"credit": ("succeeded", 0), "local": ("refunded", 3500)}
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, appointment_id).status == "confirmed"
        audit = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.refunded_duplicate",
                                                            AuditEvent.subject_id == appointment_id))
        assert audit.details["amountCents"] == 3500 and audit.details["provider"] == "local"
        card = uow.session.scalar(select(Payment).where(Payment.appointment_id == appointment_id,
                                                        Payment.provider == "local"))

    sweep_owed(clock.now() + timedelta(minutes=1))  # what the commits owe, run as the sweep would
    assert gateway.refunds == [("pi_second_charge", 3500, f"refund:{card.id}:3500")]
    with unit_of_work(SYSTEM) as uow:
        notice = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"refunded:{appointment_id}:{card.id}:patient:email"))
    assert notice.recipient == patient.email and notice.subject.startswith("Refund: €35.00")
    assert "was paid twice" in notice.body_text
    sweep_owed(clock.now() + timedelta(minutes=5))
    assert len(gateway.refunds) == 1


def test_paying_with_credit_expires_the_stripe_session(held, monkeypatch):
    http = RecordedStripe(("checkout_session_created.json", 200), ("checkout_session_expired.json", 200))
    stripe_gateway = StripeGateway("sk_test_recorded", http_client=http)
    monkeypatch.setattr(checkout, "current_gateway", lambda: stripe_gateway)
    patient, pending = held()
    session = checkout.start_payment(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="test grant")
    checkout.pay_with_credit(patient.actor, pending.id)
    assert payments_of(pending.id) == {"credit": ("succeeded", 0), "stripe": ("cancelled", 0)}
    sweep_owed(clock.now() + timedelta(minutes=1))
    expire = http.sent[-1]
    assert expire["method"] == "post" and expire["url"].endswith(f"/v1/checkout/sessions/{session.session_id}/expire")
    assert expire["headers"]["Idempotency-Key"] == f"expire:{session.session_id}"


def test_a_late_second_credit_payment_is_given_back_as_credit(held):
    """The same rule for any means: a second payment confirmed for a paid appointment goes back."""
    patient, pending = held()
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 7000, note="test grant")
    checkout.pay_with_credit(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:
        second = Payment(user_id=patient.user.id, appointment_id=pending.id, kind="visit", provider="credit",
                         amount_cents=3500, currency="EUR", status="pending")
        uow.session.add(second)
        uow.session.flush()
        credits.add_entry(uow.session, patient.user.id, "spend", -3500, appointment_id=pending.id,
                          payment_id=second.id, note="second spend")
        assert checkout.confirm_paid(uow, second, provider_payment_id=None) == "refunded_duplicate"
    with unit_of_work(SYSTEM) as uow:
        assert credits.balance(uow.session, patient.user.id) == 3500
        back = uow.session.scalar(select(CreditEntry).where(CreditEntry.payment_id == second.id,
                                                            CreditEntry.kind == "refund_credit"))
        assert back.amount_cents == 3500


def owed_effects() -> list[OwedEffect]:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(OwedEffect).order_by(OwedEffect.created_at)))
