"""Stripe webhooks (SPEC §8): verify the signature, handle each event id once, tolerate replays
and out-of-order delivery, and match payments by the session id we stored — never by what a
browser says. Stripe's own deliveries and the local checkout's use this one entry point."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

import stripe
from sqlalchemy import select, text

from core import clock, config
from core.actor import SYSTEM
from core.db import UnitOfWork, unit_of_work
from core.documents.receipts import issue_credit_note
from core.errors import WebhookRejected
from core.models import Payment
from core.payments import subscriptions
from core.payments.checkout import confirm_paid

log = logging.getLogger(__name__)
SETTLED = ("succeeded", "refunded", "partially_refunded")  # a late failure or expiry never undoes these


def verify(payload: bytes, signature_header: str):
    secret = config.current().stripe_webhook_secret
    try:
        return stripe.Webhook.construct_event(payload, signature_header or "", secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookRejected("The webhook signature is not valid.") from exc


def handle(payload: bytes, signature_header: str) -> str:
    """Verify, then apply one event in one transaction. Returns what happened (for logs and tests)."""
    event = verify(payload, signature_header).to_dict()  # plain dicts: Stripe objects are not dicts
    created = datetime.fromtimestamp(event["created"], UTC) if event.get("created") else None
    with unit_of_work(SYSTEM) as uow:
        first_time = uow.session.execute(text("""
            INSERT INTO stripe_events (event_id, type, created) VALUES (:id, :type, :created)
            ON CONFLICT (event_id) DO NOTHING RETURNING event_id"""),
            {"id": event["id"], "type": event["type"], "created": created}).scalar()
        if first_time is None:
            return "duplicate"
        outcome = _apply(uow, event["type"], event["data"]["object"])
        uow.session.execute(text("UPDATE stripe_events SET processed_at = :now WHERE event_id = :id"),
                            {"now": clock.now(), "id": event["id"]})
    log.info("stripe event handled", extra={"eventType": event["type"], "outcome": outcome})
    return outcome


def _payment_by_session(uow: UnitOfWork, session_id: str | None) -> Payment | None:
    if not session_id:
        return None
    return uow.session.scalar(select(Payment).where(Payment.provider_session_id == session_id).with_for_update())


def _payment_by_intent(uow: UnitOfWork, obj) -> Payment | None:
    """Payment-intent events carry no session id: match the intent we stored, else our payment id
    in the metadata we set on the intent (signed by Stripe, so not client data)."""
    found = uow.session.scalar(select(Payment).where(Payment.provider_payment_id == obj["id"]).with_for_update())
    if found is not None:
        return found
    payment_id = (obj.get("metadata") or {}).get("payment_id")
    try:
        return uow.session.get(Payment, uuid.UUID(payment_id), with_for_update=True) if payment_id else None
    except ValueError:
        return None


def _apply(uow: UnitOfWork, event_type: str, obj) -> str:
    # Plans (mode subscription, invoices, subscription changes) are handled in subscriptions.py.
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded") \
            and obj.get("mode") == "subscription":
        return subscriptions.on_checkout_completed(uow, obj)
    if event_type in subscriptions.EVENT_HANDLERS:
        return subscriptions.EVENT_HANDLERS[event_type](uow, obj)
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        payment = _payment_by_session(uow, obj["id"])
        if payment is None:
            return "unknown_session"
        if obj.get("payment_status") not in ("paid", "no_payment_required"):
            return "awaiting_payment"  # e.g. a bank debit: async_payment_succeeded follows
        if obj.get("amount_total") is not None and obj["amount_total"] != payment.amount_cents:
            log.error("paid amount differs", extra={"paymentId": str(payment.id)})
            return "amount_mismatch"
        return confirm_paid(uow, payment, provider_payment_id=obj.get("payment_intent"))
    if event_type in ("checkout.session.async_payment_failed", "payment_intent.payment_failed"):
        payment = (_payment_by_session(uow, obj["id"]) if event_type.startswith("checkout")
                   else _payment_by_intent(uow, obj))
        if payment is None:
            return "unknown_payment"
        if payment.status in SETTLED:
            return "ignored_after_success"  # out of order: the success already won
        error = obj.get("last_payment_error") or {}
        payment.status, payment.updated_at = "failed", clock.now()
        payment.failure_code = (error.get("decline_code") or error.get("code") or "payment_failed")[:64]
        return "failed"
    if event_type == "checkout.session.expired":
        payment = _payment_by_session(uow, obj["id"])
        if payment is None or payment.status in SETTLED:
            return "ignored"
        payment.status, payment.updated_at = "cancelled", clock.now()
        return "expired"
    if event_type == "charge.refunded":
        payment = uow.session.scalar(select(Payment).where(
            Payment.provider_payment_id == obj.get("payment_intent")).with_for_update())
        if payment is None:
            return "unknown_payment"
        refunded = max(payment.refunded_cents, min(int(obj.get("amount_refunded") or 0), payment.amount_cents))
        before, payment.refunded_cents = payment.refunded_cents, refunded
        if refunded:
            payment.status = "refunded" if refunded == payment.amount_cents else "partially_refunded"
        issue_credit_note(uow, payment, refunded - before)  # a refund made at Stripe gets its credit note too
        return "refund_recorded"
    return "ignored"


def signed_event(event_type: str, obj: dict, *, secret: str | None = None) -> tuple[bytes, str]:
    """A Stripe-shaped event and its `Stripe-Signature` header, as Stripe would send it: for the
    local checkout and for tests. Signing is Stripe's scheme (HMAC-SHA256 of "t.payload")."""
    now = int(clock.now().timestamp())
    payload = json.dumps({
        "id": "evt_local_" + uuid.uuid4().hex, "object": "event", "type": event_type, "created": now,
        "api_version": stripe.api_version, "livemode": False, "data": {"object": obj},
    }).encode()
    secret = secret or config.current().stripe_webhook_secret
    signature = stripe.WebhookSignature._compute_signature(f"{now}.{payload.decode()}", secret)
    return payload, f"t={now},v1={signature}"
