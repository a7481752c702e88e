"""Stripe webhooks (SPEC §8): verify the signature, handle each event id once, tolerate replays
and out-of-order delivery, and match payments by the session id we stored — never by what a
browser says. Stripe's own deliveries and the local checkout's use this one entry point."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy import select, text

from core import clock, config
from core.actor import SYSTEM
from core.audit import record_audit
from core.booking.changes import cancel_after_external_refund
from core.db import UnitOfWork, unit_of_work
from core.documents.receipts import issue_credit_note
from core.errors import WebhookEarly, WebhookRejected
from core.i18n import N_
from core.models import Payment
from core.payments import subscriptions
from core.payments.checkout import confirm_paid

log = logging.getLogger(__name__)
SETTLED = ("succeeded", "refunded", "partially_refunded")  # a late failure or expiry never undoes these


TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE  # 300 s, Stripe's own
# A refund of a payment not known yet is asked again (non-2xx) this long after the event was
# created: completions arrive within minutes; Stripe itself retries for up to 3 days.
EARLY_WINDOW = timedelta(hours=24)


def verify(payload: bytes, signature_header: str):
    """Stripe's check (HMAC-SHA256, not older than the tolerance), and one it leaves out: a
    signature dated in the future beyond the tolerance is refused too, so a leaked signed event
    cannot be post-dated to replay later (issue 23)."""
    secret = config.current().stripe_webhook_secret
    stamps = [part[2:] for part in (signature_header or "").split(",") if part.strip().startswith("t=")]
    try:
        if any(int(stamp) > clock.now().timestamp() + TOLERANCE_SECONDS for stamp in stamps):
            raise ValueError("signature dated in the future")
        return stripe.Webhook.construct_event(payload, signature_header or "", secret, tolerance=TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookRejected(N_("The webhook signature is not valid.")) from exc


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
        outcome = _apply(uow, event["type"], event["data"]["object"], created=created)
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
    return found if found is not None else _payment_by_metadata(uow, obj)


def _apply(uow: UnitOfWork, event_type: str, obj, *, created: datetime | None = None) -> str:
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
        if obj.get("currency") is not None and obj["currency"].upper() != payment.currency:
            log.error("paid currency differs", extra={"paymentId": str(payment.id)})
            return "currency_mismatch"  # 3500 JPY is not €35
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
        return _charge_refunded(uow, obj, created)
    return "ignored"


def _charge_refunded(uow: UnitOfWork, obj, created: datetime | None) -> str:
    """A refund at Stripe: ours (already recorded when we asked for it) or one made outside Doktu.
    A charge we cannot match yet — its checkout's completion not arrived — answers non-2xx, so
    Stripe delivers it again later (issue 23), for `EARLY_WINDOW`; an older one is not ours (another
    product on the account) and is only logged. A full refund made outside Doktu cancels the
    consultation it paid for, by `admin`, audited and announced."""
    references = [ref for ref in (obj.get("payment_intent"), obj.get("invoice")) if ref]  # visits, plans
    payment = uow.session.scalar(select(Payment).where(Payment.provider_payment_id.in_(references))
                                 .with_for_update().limit(1)) if references else None
    if payment is None:
        payment = _payment_by_metadata(uow, obj)
    if payment is None:
        if created is None or clock.now() - created < EARLY_WINDOW:
            raise WebhookEarly()  # rolled back, the event id included: the retry is handled afresh
        log.warning("refund of an unknown payment", extra={"chargeId": obj.get("id")})
        return "unknown_payment"
    if obj.get("currency") is not None and obj["currency"].upper() != payment.currency:
        log.error("refunded currency differs", extra={"paymentId": str(payment.id)})
        return "currency_mismatch"
    refunded = min(int(obj.get("amount_refunded") or 0), payment.amount_cents)
    if refunded <= payment.refunded_cents:
        return "refund_recorded"  # ours, recorded when we asked for it (or an older event)
    before = payment.refunded_cents
    payment.refunded_cents, payment.updated_at = refunded, clock.now()
    payment.status = "refunded" if refunded == payment.amount_cents else "partially_refunded"
    issue_credit_note(uow, payment, refunded - before)  # a refund made at Stripe gets its credit note too
    record_audit(uow.session, SYSTEM, action="payment.refunded_outside", subject_type="appointment",
                 subject_id=str(payment.appointment_id), at=clock.now(),
                 details={"paymentId": str(payment.id), "refundedCents": refunded,
                          "amountCents": payment.amount_cents, "currency": payment.currency})
    if payment.status == "refunded" and payment.kind == "visit" and payment.appointment_id is not None \
            and cancel_after_external_refund(uow, payment.appointment_id, refunded):
        return "refunded_outside_cancelled"
    return "refunded_outside"


def _payment_by_metadata(uow: UnitOfWork, obj) -> Payment | None:
    """Our payment id in the metadata we set (signed by Stripe, so not client data)."""
    payment_id = (obj.get("metadata") or {}).get("payment_id")
    try:
        return uow.session.get(Payment, uuid.UUID(payment_id), with_for_update=True) if payment_id else None
    except ValueError:
        return None


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
