"""Webhooks out of order and refunds made at Stripe (issue 23 item 8): a refund of a payment not known
yet is answered non-2xx so Stripe delivers it again; a full refund made outside Doktu cancels the
consultation (by admin, audited, announced); the currency is compared as well as the amount; a
signature dated in the future beyond the tolerance is refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core import clock
from core.actor import SYSTEM, Actor
from core.booking.changes import cancel
from core.db import unit_of_work
from core.models import Appointment, AppointmentChange, AuditEvent, OutboxMessage, Payment, StripeEvent
from core.owed import sweep_owed
from core.payments.checkout import start_payment
from core.payments.webhooks import signed_event
from tests.integration.payments.test_owed_effects import gateway  # noqa: F401

WEBHOOK = "/api/payment/webhook"


def deliver(client, payload: bytes, header: str):
    return client.post(WEBHOOK, data=payload, headers={"Stripe-Signature": header,
                                                       "Content-Type": "application/json"})


def completed(session_id: str, intent: str, *, amount=3500, currency="eur") -> tuple[bytes, str]:
    return signed_event("checkout.session.completed", {
        "id": session_id, "object": "checkout.session", "mode": "payment", "payment_status": "paid",
        "amount_total": amount, "currency": currency, "payment_intent": intent, "metadata": {}})


def charge_refunded(intent: str, refunded: int, *, metadata=None, currency="eur") -> tuple[bytes, str]:
    return signed_event("charge.refunded", {
        "id": "ch_" + intent, "object": "charge", "payment_intent": intent, "amount": 3500,
        "amount_refunded": refunded, "refunded": refunded == 3500, "currency": currency,
        "metadata": metadata or {}})


def payment_of(appointment_id) -> Payment:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(Payment).where(Payment.appointment_id == appointment_id))


def status_of(appointment_id) -> tuple[str, str | None]:
    with unit_of_work(SYSTEM) as uow:
        a = uow.session.get(Appointment, appointment_id)
        return a.status, a.cancelled_by


def test_a_refund_before_the_completion_is_answered_non_2xx_then_applied_on_the_retry(client, held, gateway):  # noqa: F811
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    refund_event = charge_refunded("pi_early", 3500)  # refunded at Stripe before the completion reached us

    early = deliver(client, *refund_event)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "ERR_WEBHOOK_EARLY"
    with unit_of_work(SYSTEM) as uow:  # not marked as seen: Stripe's retry is handled afresh
        assert uow.session.scalar(select(func.count()).select_from(StripeEvent)
                                  .where(StripeEvent.type == "charge.refunded")) == 0
    assert deliver(client, *completed(session.session_id, "pi_early")).get_json()["outcome"] == "confirmed"

    payload, _ = refund_event
    retried = deliver(client, payload, signed_header(payload))  # Stripe's retry: same event, new signature
    assert retried.status_code == 200 and retried.get_json()["outcome"] == "refunded_outside_cancelled"
    paid = payment_of(pending.id)
    assert (paid.status, paid.refunded_cents) == ("refunded", 3500)
    assert status_of(pending.id) == ("cancelled", "admin")
    with unit_of_work(SYSTEM) as uow:
        change = uow.session.scalar(select(AppointmentChange).where(AppointmentChange.appointment_id == pending.id))
        assert (change.action, change.actor_role, change.before["status"]) == ("cancel", "admin", "confirmed")
        actions = set(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(pending.id))))
        assert {"appointment.cancelled", "payment.refunded_outside"} <= actions

    sweep_owed(clock.now() + timedelta(minutes=1))
    assert gateway.refunds == []  # the money went back at Stripe: nothing to pay back from here
    with unit_of_work(SYSTEM) as uow:
        notice = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"cancelled:{pending.id}:%:patient:email")))
    assert "Our team cancelled your consultation with Dr Paris" in notice.body_text
    assert "€35.00 is refunded to your card" in notice.body_text
    replay = deliver(client, payload, signed_header(payload))
    assert replay.get_json()["outcome"] == "duplicate"


def test_a_refund_is_matched_by_our_metadata_and_a_partial_one_keeps_the_consultation(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    paid = payment_of(pending.id)
    deliver(client, *completed(session.session_id, "pi_meta"))
    answer = deliver(client, *charge_refunded("pi_other_intent", 1000, metadata={"payment_id": str(paid.id)}))
    assert answer.get_json()["outcome"] == "refunded_outside"
    paid = payment_of(pending.id)
    assert (paid.status, paid.refunded_cents) == ("partially_refunded", 1000)
    assert status_of(pending.id) == ("confirmed", None)


def test_our_own_refund_coming_back_from_stripe_changes_nothing(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    deliver(client, *completed(session.session_id, "pi_ours"))
    cancel(Actor(patient.user.id, "patient"), pending.id, refund_as="card")
    assert deliver(client, *charge_refunded("pi_ours", 3500)).get_json()["outcome"] == "refund_recorded"
    assert status_of(pending.id) == ("cancelled", "patient")


def test_the_currency_is_compared_as_well_as_the_amount(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    yen = deliver(client, *completed(session.session_id, "pi_yen", currency="jpy"))  # 3500 JPY is not €35
    assert yen.status_code == 200 and yen.get_json()["outcome"] == "currency_mismatch"
    assert payment_of(pending.id).status == "pending" and status_of(pending.id) == ("pending", None)
    session_paid = completed(session.session_id, "pi_eur")
    assert deliver(client, *session_paid).get_json()["outcome"] == "confirmed"
    assert deliver(client, *charge_refunded("pi_eur", 3500, currency="usd")).get_json()["outcome"] \
        == "currency_mismatch"
    assert payment_of(pending.id).refunded_cents == 0


def test_signatures_dated_beyond_the_tolerance_are_refused_either_way(client, held, clock_at):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    now = clock.now()
    signed = {}
    for label, offset in (("future", 301), ("past", -301), ("skewed", 240)):
        clock_at(now + timedelta(seconds=offset))
        signed[label] = completed(session.session_id, f"pi_{label}")
    clock_at(now)
    for label in ("future", "past"):
        refused = deliver(client, *signed[label])
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "ERR_WEBHOOK_SIGNATURE"
    assert payment_of(pending.id).status == "pending"
    assert deliver(client, *signed["skewed"]).get_json()["outcome"] == "confirmed"  # within 5 minutes


def signed_header(payload: bytes) -> str:
    """A fresh Stripe-Signature for the same payload, as Stripe signs each retry anew."""
    import stripe

    from core import config

    t = int(clock.now().timestamp())
    return f"t={t},v1=" + stripe.WebhookSignature._compute_signature(
        f"{t}.{payload.decode()}", config.current().stripe_webhook_secret)


def test_a_refund_still_unknown_a_day_later_is_not_ours_and_is_accepted(client, held, clock_at):
    held()
    event = charge_refunded("pi_someone_elses", 500)
    clock_at(clock.now() + timedelta(hours=24, seconds=1))  # Stripe still retrying a day on
    answer = deliver(client, event[0], signed_header(event[0]))
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "unknown_payment"
