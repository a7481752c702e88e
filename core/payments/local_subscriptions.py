"""The local stand-in for Stripe Billing (no `STRIPE_SECRET_KEY`): what Stripe would send about a
plan — the checkout's completion, each month's invoice, the end of a cancelled plan — delivered as
signed events to the same webhook handler as Stripe's.

Time does not pass by itself here: `renew_local_subscriptions` (CLI `doktu payments
renew-local-subscriptions`) plays Stripe's renewal for every local plan whose month has ended,
and `--now` lets a developer pretend it is next month.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Subscription
from core.payments.local_checkout import Attempt
from core.payments.plans import plan_by_code
from core.payments.subscriptions import (
    LIVE,
    PlanSession,
    add_month,
    cancel_requested,
    lapse_ended_plan_credits,
)
from core.payments.webhooks import handle, signed_event

LOCAL_PREFIX = "sub_local_"
MAX_MONTHS = 24  # catching up a plan left alone for years stops somewhere


def deliver_plan_success(session: PlanSession) -> Attempt:
    """The card was accepted on the local page: Stripe's `checkout.session.completed` (mode subscription)."""
    payload, header = signed_event("checkout.session.completed", {
        "id": session.session_id, "object": "checkout.session", "mode": "subscription", "status": "complete",
        "payment_status": "paid", "amount_total": session.amount_cents, "currency": session.currency.lower(),
        "subscription": LOCAL_PREFIX + secrets.token_hex(12), "invoice": "in_local_" + secrets.token_hex(12),
        "payment_intent": None, "metadata": session.metadata})
    return Attempt(handle(payload, header), True)


def _invoice(subscription: Subscription, start: datetime, end: datetime, *, paid: bool) -> dict:
    plan = plan_by_code(subscription.plan)
    return {"id": "in_local_" + secrets.token_hex(12), "object": "invoice", "billing_reason": "subscription_cycle",
            "status": "paid" if paid else "open", "amount_due": plan.price_cents,
            "amount_paid": plan.price_cents if paid else 0, "currency": "eur",
            "period_start": int(start.timestamp()), "period_end": int(start.timestamp()),
            "parent": {"type": "subscription_details", "subscription_details": {
                "subscription": subscription.provider_subscription_id,
                "metadata": {"subscription_id": str(subscription.id), "plan": plan.code}}},
            "lines": {"object": "list", "data": [{"object": "line_item", "amount": plan.price_cents, "period": {
                "start": int(start.timestamp()), "end": int(end.timestamp())}}]}}


@dataclass
class Renewals:
    renewed: int = 0
    failed: int = 0
    cancelled: int = 0
    lapsed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"renewed": self.renewed, "failed": self.failed, "cancelled": self.cancelled, "lapsed": self.lapsed}


def _due(now: datetime) -> list[uuid.UUID]:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(Subscription.id).where(
            Subscription.status.in_(LIVE), Subscription.provider_subscription_id.like(LOCAL_PREFIX + "%"),
            Subscription.current_period_end <= now)))


def _load(subscription_id: uuid.UUID) -> Subscription:
    with unit_of_work(SYSTEM) as uow:
        subscription = uow.session.get(Subscription, subscription_id)
        uow.session.expunge(subscription)
        return subscription


def renew_local_subscriptions(now: datetime | None = None, *, decline: bool = False) -> dict[str, int]:
    """Play Stripe's part at the end of each local plan month up to `now`: a plan whose cancellation
    was asked for ends (`customer.subscription.deleted`); any other is charged for the next month
    (`invoice.paid`, or `invoice.payment_failed` with `decline`). Then unused credit of ended
    months lapses. Idempotent: a plan whose month has not ended is left alone."""
    now = now or clock.now()
    done = Renewals()
    for subscription_id in _due(now):
        for _ in range(MAX_MONTHS):
            subscription = _load(subscription_id)
            if subscription.status not in LIVE or subscription.current_period_end > now:
                break
            if cancel_requested(subscription.id):
                payload, header = signed_event("customer.subscription.deleted", {
                    "id": subscription.provider_subscription_id, "object": "subscription", "status": "canceled",
                    "cancel_at_period_end": True, "metadata": {"subscription_id": str(subscription.id)}})
                done.cancelled += handle(payload, header) == "cancelled"
                break
            start = subscription.current_period_end
            event = "invoice.payment_failed" if decline else "invoice.paid"
            payload, header = signed_event(event, _invoice(subscription, start, add_month(start), paid=not decline))
            outcome = handle(payload, header)
            if decline:
                done.failed += outcome == "past_due"
                break
            if outcome != "plan_renewed":
                break
            done.renewed += 1
    done.lapsed = lapse_ended_plan_credits(now)
    return done.as_dict()
