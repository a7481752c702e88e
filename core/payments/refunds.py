"""Refunds (SPEC §5): decided and recorded in the caller's transaction (with the cancellation),
owed in that same transaction (`owed_effects`, keyed `refund:<payment>:<cumulative cents>`) and
executed at the gateway after the commit with that key as Stripe's idempotency key, so a retried
task never refunds twice, a rolled-back cancellation never refunds at all, and a refund whose
dispatch was lost (Redis down) is still paid by the owed sweep (issue 23)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.actor import SYSTEM
from core.db import UnitOfWork, unit_of_work
from core.documents.receipts import issue_credit_note
from core.models import Payment
from core.payments.gateway import current_gateway

log = logging.getLogger(__name__)


def paid_payment(session: Session, appointment_id: uuid.UUID) -> Payment | None:
    """The succeeded card payment of an appointment, if any (credit payments are refunded as credit)."""
    return session.scalar(select(Payment).where(
        Payment.appointment_id == appointment_id, Payment.status.in_(("succeeded", "partially_refunded")),
        Payment.provider.in_(("stripe", "local"))).with_for_update())


def record_refund(uow: UnitOfWork, payment: Payment, amount_cents: int, *, reason: str) -> int:
    """Mark `amount_cents` of `payment` refunded in this transaction and have the gateway pay it
    back after the commit. Returns the amount actually refunded (never more than was paid)."""
    amount_cents = min(amount_cents, payment.amount_cents - payment.refunded_cents)
    if amount_cents <= 0:
        return 0
    payment.refunded_cents += amount_cents
    payment.status = "refunded" if payment.refunded_cents == payment.amount_cents else "partially_refunded"
    payment.updated_at = clock.now()
    issue_credit_note(uow, payment, amount_cents)  # SPEC §18: the credit note, in the refund's transaction
    key = f"refund:{payment.id}:{payment.refunded_cents}"
    uow.defer_once(key, "core.payments.refunds.execute_refund", str(payment.id), amount_cents, key, reason=reason)
    return amount_cents


def execute_refund(payment_id: str, amount_cents: int, idempotency_key: str, *, reason: str = "") -> str:
    """Task: pay the refund back through the gateway. Safe to retry (idempotency key)."""
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.get(Payment, uuid.UUID(payment_id))
        intent = payment.provider_payment_id if payment else None
    if not intent:
        log.warning("refund without a payment intent", extra={"paymentId": payment_id})
        return ""
    gateway = current_gateway()
    if intent.startswith("in_"):  # a plan's payment is its invoice (a withdrawal, issue 25)
        refund_id = gateway.refund_invoice(invoice_id=intent, amount_cents=amount_cents,
                                           idempotency_key=idempotency_key)
    else:
        refund_id = gateway.refund(payment_intent_id=intent, amount_cents=amount_cents,
                                   idempotency_key=idempotency_key)
    log.info("refund sent", extra={"paymentId": payment_id, "amountCents": amount_cents, "refundId": refund_id})
    return refund_id
