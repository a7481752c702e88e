"""Withdrawing from a new plan (SPEC §8; /pricing; issue 25; EU right of withdrawal for distance
contracts): within 14 days of a plan's start the patient may withdraw and is refunded the plan's
price minus €35 for each consultation already had with its credit (never below 0).

- The rule `withdrawal_refund` is pure. "Within 14 days" includes the 14th day: up to and
  including the start + 14 × 24 h; a moment later it is None and only the cancellation at the end
  of the paid month remains.
- "Consultations had" are the plan credits used (spent and not given back), booked ones included:
  a consultation paid with plan credit keeps its booking after the withdrawal, so it is counted.
- `withdraw` cancels the plan at once, removes its unused credit from the ledger (a lapse entry,
  so the ledger replay knows the month is empty), records the refund (`record_refund`: credit note
  in this transaction, the gateway refund owed with its idempotency key), owes the cancellation at
  the gateway and the patient's notice, and writes the audit event — all in one transaction under
  the patient's plan lock, and only while the plan is live, so a double click refunds once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core import clock, config
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import acting_as_system, unit_of_work
from core.errors import Forbidden, InvalidTransition, NotFound
from core.i18n import N_
from core.models import Payment, Subscription, User
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import format_money, language_of, render
from core.payments import credits
from core.payments.gateway import current_gateway
from core.payments.plans import PAY_PER_VISIT_CENTS, plan_by_code
from core.payments.refunds import record_refund
from core.payments.subscriptions import (
    GRANT_KEY,
    LIVE,
    _at,
    _granted_months,
    _ledger,
    _live,
    _user_lock,
    unused_plan_credit,
)

WITHDRAWAL_DAYS = 14
WITHDRAWN = "subscription.withdrawn"


class WithdrawalPeriodOver(InvalidTransition):
    default_message = ("The 14 days to withdraw from this plan are over. You can still cancel it at the end "
                       "of the month you have paid for.")


def withdrawal_refund(price_cents: int, consultations_had: int, started_at: datetime, now: datetime) -> int | None:
    """The refund of a withdrawal at `now` (issue 25): price − €35 × consultations had, never below
    0; None once the 14 days are over (the 14th day, to the second of the start, still counts)."""
    if now > started_at + timedelta(days=WITHDRAWAL_DAYS):
        return None
    return max(0, price_cents - PAY_PER_VISIT_CENTS * max(consultations_had, 0))


@dataclass(frozen=True)
class WithdrawalQuote:
    """What withdrawing now would give: shown before the patient confirms."""

    subscription_id: uuid.UUID
    plan_name: str
    price_cents: int
    consultations_had: int
    refund_cents: int
    unused_credit_cents: int
    deadline: datetime


@dataclass(frozen=True)
class Withdrawal:
    subscription_id: uuid.UUID
    refund_cents: int
    credit_removed_cents: int


def _quote(session, subscription: Subscription, now: datetime) -> WithdrawalQuote | None:
    months = _granted_months(session, subscription)
    if not months:
        return None
    started_at = _at(months[0][0])
    plan = plan_by_code(subscription.plan)
    lines = _ledger(session, subscription.user_id)
    mine = str(subscription.id)
    granted = sum(line.amount_cents for line in lines
                  if line.kind == "grant" and (k := GRANT_KEY.search(line.note or "")) and k["sub"] == mine)
    unused = sum(m.remaining for m in unused_plan_credit(lines) if m.subscription_id == mine)
    had = (granted - unused) // PAY_PER_VISIT_CENTS
    refund = withdrawal_refund(plan.price_cents, had, started_at, now)
    if refund is None:
        return None
    return WithdrawalQuote(subscription.id, plan.name, plan.price_cents, had, refund, unused,
                           started_at + timedelta(days=WITHDRAWAL_DAYS))


def withdrawal_quote(actor: Actor) -> WithdrawalQuote | None:
    """The patient's live plan's withdrawal terms, or None (no plan, or the 14 days are over)."""
    if actor.role != "patient" or actor.user_id is None:
        return None
    with unit_of_work(actor) as uow:
        subscription = _live(uow.session, actor.user_id)
        if subscription is None:
            return None
        with acting_as_system(uow):
            return _quote(uow.session, subscription, clock.now())


def withdraw(actor: Actor) -> Withdrawal:
    """Withdraw from the live plan within 14 days of its start (issue 25; SPEC §8): cancelled at
    once, its unused credit removed, refunded price − €35 × consultations had through the gateway
    (owed, idempotent), credit note, audit, notice. Exactly once: under the plan lock, only a live
    plan is withdrawn (a second request finds none: 404). After the 14 days: 409."""
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Plans are for patients."))
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        _user_lock(uow, actor.user_id)
        subscription = _live(s, actor.user_id)
        if subscription is None:
            raise NotFound(N_("You have no plan to withdraw from."))
        with acting_as_system(uow):
            subscription = s.get(Subscription, subscription.id, with_for_update=True, populate_existing=True)
            if subscription.status not in LIVE:
                raise NotFound(N_("You have no plan to withdraw from."))
            quote = _quote(s, subscription, now)
            if quote is None:
                raise WithdrawalPeriodOver()
            subscription.status = "cancelled"
            subscription.current_period_end = now  # nothing of the month is left to use
            removed = min(quote.unused_credit_cents, credits.balance(s, actor.user_id))
            if removed > 0:
                first_start = _granted_months(s, subscription)[0][0]
                credits.add_entry(s, actor.user_id, "adjustment", -removed,
                                  note=f"Unused credit of the {quote.plan_name} plan removed on withdrawal "
                                       f"[lapse:{subscription.id}:{first_start}]")
            payment = s.scalar(select(Payment).where(Payment.id == subscription.id).with_for_update())
            refunded = 0
            if payment is not None and quote.refund_cents > 0:
                refunded = record_refund(uow, payment, quote.refund_cents, reason="withdrawal")
            uow.defer_once(f"withdraw-cancel:{subscription.id}", "core.payments.withdrawal.cancel_at_gateway",
                           str(subscription.id))
            uow.defer_once(f"withdraw-notice:{subscription.id}", "core.payments.withdrawal.notify_withdrawn",
                           str(subscription.id), refunded, quote.consultations_had)
            record_audit(s, actor, action=WITHDRAWN, subject_type="subscription", subject_id=str(subscription.id),
                         at=now, details={"plan": subscription.plan, "refundCents": refunded,
                                          "consultationsHad": quote.consultations_had, "creditRemovedCents": removed,
                                          "paymentId": str(payment.id) if payment else None})
        return Withdrawal(subscription.id, refunded, removed)


def cancel_at_gateway(subscription_id: str) -> None:
    """Owed task: end a withdrawn plan at Stripe now (no further invoice). The local stand-in
    renews only live plans, so there is nothing to tell it."""
    with unit_of_work(SYSTEM) as uow:
        subscription = uow.session.get(Subscription, uuid.UUID(subscription_id))
        provider = uow.session.scalar(select(Payment.provider).where(Payment.id == subscription.id)) \
            if subscription else None
        provider_id = subscription.provider_subscription_id if subscription else None
    if provider == "stripe" and provider_id:
        current_gateway().cancel_subscription_now(subscription_id=provider_id,
                                                  idempotency_key=f"withdraw:{subscription_id}")


def notify_withdrawn(subscription_id: str, refund_cents: int, consultations_had: int) -> int:
    """Owed task: tell the patient their withdrawal is done and what is refunded (once: dedupe key)."""
    with unit_of_work(SYSTEM) as uow:
        subscription = uow.session.get(Subscription, uuid.UUID(subscription_id))
        user = uow.session.get(User, subscription.user_id) if subscription else None
        if user is None or not user.is_active:
            return 0
        lang = language_of(user.locale)
        message = render("plan_withdrawn", lang, patient_name=user.full_name,
                         plan_name=plan_by_code(subscription.plan).name, consultations_had=consultations_had,
                         amount=format_money(refund_cents, "EUR", lang), refunded=refund_cents > 0,
                         billing_url=f"{config.current().public_base_url}/dashboard/billing")
        queued = queue_once(uow, Outgoing("email", user.email, message.text, message.subject, message.html),
                            f"withdrawn:{subscription_id}:patient:email")
        return int(queued is not None)
