"""Reconciliation (SPEC §8): a job compares our pending payments with Stripe, so a webhook that
never arrived cannot leave a paid patient unconfirmed. It applies what Stripe reports through the
same code as the webhook (`confirm_paid`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Payment
from core.payments.checkout import confirm_paid
from core.payments.gateway import PaymentGateway, current_gateway

log = logging.getLogger(__name__)
GRACE = timedelta(minutes=10)  # webhooks normally arrive within seconds
BATCH = 100


def reconcile_pending_payments(gateway: PaymentGateway | None = None) -> dict[str, int]:
    gateway = gateway or current_gateway()
    counts = {"checked": 0, "confirmed": 0, "expired": 0}
    if gateway.name != "stripe":
        return counts
    with unit_of_work(SYSTEM) as uow:
        sessions = list(uow.session.scalars(select(Payment.provider_session_id).where(
            Payment.provider == "stripe", Payment.kind == "visit", Payment.status.in_(("pending", "failed")),
            Payment.provider_session_id.is_not(None), Payment.created_at <= clock.now() - GRACE,
        ).order_by(Payment.created_at).limit(BATCH)))
    for session_id in sessions:
        remote = gateway.retrieve_session(session_id) or {}
        counts["checked"] += 1
        with unit_of_work(SYSTEM) as uow:
            payment = uow.session.scalar(select(Payment).where(
                Payment.provider_session_id == session_id).with_for_update())
            if payment is None or payment.status not in ("pending", "failed"):
                continue
            if remote.get("payment_status") == "paid" and remote.get("amount_total") == payment.amount_cents \
                    and (remote.get("currency") or payment.currency).upper() == payment.currency:
                confirm_paid(uow, payment, provider_payment_id=remote.get("payment_intent"))
                counts["confirmed"] += 1
            elif remote.get("status") == "expired":
                payment.status, payment.updated_at = "cancelled", clock.now()
                counts["expired"] += 1
    if counts["confirmed"]:
        log.warning("payments confirmed by reconciliation", extra=counts)
    return counts
