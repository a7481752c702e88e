"""Monthly plans (SPEC §8; README "Plans and credits"): Basic and Premium are Stripe subscriptions
that grant consultation credits for each billing month, which lapse at its end (no roll-over).

- `start_subscription` opens a Checkout Session in subscription mode (the local stand-in's page
  without Stripe). One plan at a time: a patient with a live plan cancels it first.
- The webhook (`core.payments.webhooks._apply`) hands plan events to the `on_*` functions here:
  `checkout.session.completed` activates the plan and grants the first month, `invoice.paid`
  (billing_reason `subscription_cycle`) lapses what is left of the ended month and grants the new
  one, `invoice.payment_failed` makes it past_due, `customer.subscription.deleted` cancels it.
- Every grant is keyed by subscription + period start in its note (`[plan:<id>:<start>:<end>]`),
  so a replayed or late event never grants a month twice.
- `cancel_subscription` asks for the end at the close of the paid month; the request is kept as an
  audit event (the schema has no column for it yet).

A plan's first payment shares the subscription's id: the session id we stored finds the payment,
and the payment's id is the plan — no trust in metadata needed.
"""

from __future__ import annotations

import logging
import re
import uuid
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from core import clock, config
from core.accounts.profile import require_complete_profile
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.documents.receipts import issue_receipt
from core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from core.i18n import N_
from core.models import AuditEvent, CreditEntry, Payment, Subscription, User
from core.payments import credits
from core.payments.gateway import checkout_locale, current_gateway
from core.payments.plans import CURRENCY, PAY_PER_VISIT_CENTS, Plan, plan_by_code

log = logging.getLogger(__name__)

LIVE = ("active", "past_due")  # a plan the patient has (and pays for) now
OPEN_PAYMENT = ("pending", "failed")  # a checkout that can still be paid (a decline can be retried)
SETTLED = ("succeeded", "refunded", "partially_refunded")
CANCEL_REQUESTED, CANCEL_WITHDRAWN = "subscription.cancel_requested", "subscription.cancel_withdrawn"
GRANT_KEY = re.compile(r"\[plan:(?P<sub>[0-9a-f-]{36}):(?P<start>\d+):(?P<end>\d+)\]")
LAPSE_KEY = re.compile(r"\[lapse:(?P<sub>[0-9a-f-]{36}):(?P<start>\d+)\]")
SWEEP_LOOKBACK = timedelta(days=62)  # plans whose month ended this recently are checked for unused credit


class PlanActive(InvalidTransition):
    """A second plan while one is live (switching: cancel first, choose again once it has ended)."""

    default_message = "You already have a plan. Cancel it first; you can choose another once it has ended."


# ---- periods ----

def add_month(moment: datetime) -> datetime:
    """The same day and time one month later, on the month's last day when it is shorter (as Stripe)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _grant_note(plan: Plan, subscription_id: uuid.UUID, start: int, end: int) -> str:
    credits_text = f"{plan.credits_per_month} consultation credit{'s' if plan.credits_per_month != 1 else ''}"
    return (f"{plan.name} plan: {credits_text} for {_at(start):%Y-%m-%d} to {_at(end):%Y-%m-%d} "
            f"[plan:{subscription_id}:{start}:{end}]")


# ---- the rule: which plan credit is still unused ----

@dataclass
class PlanCredit:
    """What is left of one month's plan credits (cents), after spends and given-back credits."""

    subscription_id: str
    start: int
    end: int
    remaining: int


@dataclass(frozen=True)
class LedgerLine:
    kind: str
    amount_cents: int
    appointment_id: uuid.UUID | None
    note: str | None


@dataclass
class _Taken:
    from_plan: list[tuple[PlanCredit, int]] = field(default_factory=list)


def unused_plan_credit(lines: list[LedgerLine]) -> list[PlanCredit]:
    """Replay the ledger in order: plan credits are spent first (the one that ends first), then
    other credit; a credit given back for an appointment returns to the month it came from and
    keeps that month's end; a lapse entry empties its month. Returns each month's unused part."""
    months: dict[tuple[str, int], PlanCredit] = {}
    taken: dict[uuid.UUID, _Taken] = {}
    for line in lines:
        note = line.note or ""
        if line.kind == "grant" and (key := GRANT_KEY.search(note)):
            month = PlanCredit(key["sub"], int(key["start"]), int(key["end"]), line.amount_cents)
            months[(month.subscription_id, month.start)] = month
        elif line.kind == "adjustment" and line.amount_cents < 0 and (key := LAPSE_KEY.search(note)):
            month = months.get((key["sub"], int(key["start"])))
            if month is not None:
                month.remaining = max(0, month.remaining + line.amount_cents)
        elif line.kind == "spend":
            need = -line.amount_cents
            for month in sorted((m for m in months.values() if m.remaining > 0), key=lambda m: m.end):
                use = min(need, month.remaining)
                month.remaining -= use
                need -= use
                if line.appointment_id is not None:
                    taken.setdefault(line.appointment_id, _Taken()).from_plan.append((month, use))
                if need == 0:
                    break
        elif line.kind == "refund_credit" and line.appointment_id in taken:
            back = line.amount_cents
            for i, (month, use) in enumerate(taken[line.appointment_id].from_plan):
                give = min(back, use)
                month.remaining += give
                taken[line.appointment_id].from_plan[i] = (month, use - give)
                back -= give
    return [m for m in months.values() if m.remaining > 0]


def _ledger(session, user_id: uuid.UUID) -> list[LedgerLine]:
    # created_at is the transaction's start, shared by every entry of one transaction (and of a
    # whole test): xmin — the (sub)transaction that wrote each entry, one per add_entry — orders those.
    rows = session.execute(
        select(CreditEntry.kind, CreditEntry.amount_cents, CreditEntry.appointment_id, CreditEntry.note)
        .where(CreditEntry.user_id == user_id)
        .order_by(CreditEntry.created_at, text("xmin::text::bigint"))).all()
    return [LedgerLine(*row) for row in rows]


def _lapse(session, user_id: uuid.UUID, *, now: datetime, ended_before: tuple[str, int] | None = None) -> int:
    """Lapse the unused plan credit of every month that has ended by `now` (and, at a renewal, of
    every earlier month of that plan). One 'adjustment' entry per month; returns the cents lapsed."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                    {"k": f"doktu:credits:{user_id}"})  # the ledger trigger's lock: no spend in between
    balance, lapsed = credits.balance(session, user_id), 0
    for month in unused_plan_credit(_ledger(session, user_id)):
        superseded = ended_before is not None and month.subscription_id == ended_before[0] \
            and month.start < ended_before[1]
        if not (superseded or month.end <= _ts(now)):
            continue
        amount = min(month.remaining, balance)
        if amount <= 0:
            continue
        credits.add_entry(session, user_id, "adjustment", -amount,
                          note=f"Unused plan credit of {_at(month.start):%Y-%m-%d} to {_at(month.end):%Y-%m-%d} "
                               f"lapsed (no roll-over) [lapse:{month.subscription_id}:{month.start}]")
        balance -= amount
        lapsed += amount
    return lapsed


def _granted_months(session, subscription: Subscription) -> list[tuple[int, int]]:
    notes = session.scalars(select(CreditEntry.note).where(
        CreditEntry.user_id == subscription.user_id, CreditEntry.kind == "grant",
        CreditEntry.note.like(f"%[plan:{subscription.id}:%"))).all()
    return sorted((int(k["start"]), int(k["end"])) for n in notes if (k := GRANT_KEY.search(n or "")))


def _grant(session, subscription: Subscription, start: int, end: int, *, payment_id: uuid.UUID | None) -> None:
    plan = plan_by_code(subscription.plan)
    credits.add_entry(session, subscription.user_id, "grant", subscription.credits_per_period * PAY_PER_VISIT_CENTS,
                      payment_id=payment_id, note=_grant_note(plan, subscription.id, start, end))
    subscription.current_period_end = _at(end)


# ---- starting, reading and cancelling a plan (the patient) ----

@dataclass(frozen=True)
class PlanCheckout:
    subscription_id: uuid.UUID
    plan: str
    session_id: str
    url: str


def _user_lock(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    uow.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"doktu:plan:{user_id}"})


def _live(session, user_id: uuid.UUID) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.user_id == user_id, Subscription.status.in_(LIVE))
                          .order_by(Subscription.created_at.desc()).limit(1))


def start_subscription(actor: Actor, plan_code: str) -> PlanCheckout:
    """A Checkout Session for a monthly plan (SPEC §8): mode subscription with Stripe, the local page
    otherwise. One live plan at a time (PlanActive, 409). The same open checkout is returned for the
    same plan; choosing the other plan replaces it (the old session is expired). The health profile
    comes first (ERR_PROFILE_INCOMPLETE, SPEC §6)."""
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Plans are for patients."))
    try:
        plan = plan_by_code(plan_code)
    except KeyError:
        raise ValidationFailed(N_("There is no such plan.")) from None
    require_complete_profile(actor)
    settings, gateway = config.current(), current_gateway()
    with unit_of_work(actor) as uow:
        s = uow.session
        _user_lock(uow, actor.user_id)
        live = _live(s, actor.user_id)
        if live is not None:
            name = plan_by_code(live.plan).name
            raise PlanActive(N_("You already have the %(name)s plan. Cancel it first; you can choose another "
                                "plan once it has ended."), params={"name": name})
        open_rows = s.execute(
            select(Subscription, Payment).join(Payment, Payment.id == Subscription.id)
            .where(Subscription.user_id == actor.user_id, Subscription.status == "incomplete",
                   Payment.status.in_(OPEN_PAYMENT), Payment.provider_session_id.is_not(None))
            .order_by(Subscription.created_at.desc())).all()
        for subscription, payment in open_rows:
            if subscription.plan == plan.code and payment.provider == gateway.name:
                return PlanCheckout(subscription.id, plan.code, payment.provider_session_id,
                                    gateway.session_url(payment.provider_session_id))
        for _subscription, payment in open_rows:  # the patient changed their mind: close the other checkout
            if payment.provider == gateway.name:
                gateway.expire_session(payment.provider_session_id)
            with acting_as_system(uow):
                payment.status, payment.updated_at = "cancelled", clock.now()
        email, locale = s.execute(select(User.email, User.locale).where(User.id == actor.user_id)).one()
        subscription_id, base = uuid.uuid4(), settings.public_base_url
        session = gateway.create_subscription_session(
            plan_code=plan.code, plan_name=plan.name, amount_cents=plan.price_cents, currency=CURRENCY,
            customer_email=email, success_url=f"{base}/pricing?plan_session={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/pricing",
            metadata={"subscription_id": str(subscription_id), "payment_id": str(subscription_id),
                      "plan": plan.code},
            idempotency_key=f"subscribe:{subscription_id}", locale=checkout_locale(locale))
        # RLS: a patient may insert only an incomplete plan and a pending payment; the webhook does the rest.
        s.add(Subscription(id=subscription_id, user_id=actor.user_id, plan=plan.code, status="incomplete",
                           credits_per_period=plan.credits_per_month))
        s.add(Payment(id=subscription_id, user_id=actor.user_id, appointment_id=None, kind="subscription",
                      provider=gateway.name, provider_session_id=session.id, amount_cents=plan.price_cents,
                      currency=CURRENCY, status="pending", created_at=clock.now(), updated_at=clock.now()))
        return PlanCheckout(subscription_id, plan.code, session.id, session.url)


@dataclass(frozen=True)
class PlanStatus:
    subscription_id: uuid.UUID
    plan: Plan
    status: str  # active | past_due | cancelled
    current_period_end: datetime | None
    cancel_at_period_end: bool

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


def _cancel_requested(session, subscription_id: uuid.UUID) -> bool:
    last = session.scalar(select(AuditEvent.action).where(
        AuditEvent.subject_type == "subscription", AuditEvent.subject_id == str(subscription_id),
        AuditEvent.action.in_((CANCEL_REQUESTED, CANCEL_WITHDRAWN))).order_by(AuditEvent.id.desc()).limit(1))
    return last == CANCEL_REQUESTED


def current_plan(actor: Actor) -> PlanStatus | None:
    """The patient's plan: the live one, else one cancelled whose paid month is not over yet."""
    if actor.role != "patient" or actor.user_id is None:
        return None
    with unit_of_work(actor) as uow:
        s = uow.session
        subscription = _live(s, actor.user_id) or s.scalar(
            select(Subscription).where(Subscription.user_id == actor.user_id, Subscription.status == "cancelled",
                                       Subscription.current_period_end > clock.now())
            .order_by(Subscription.current_period_end.desc()).limit(1))
        if subscription is None:
            return None
        with acting_as_system(uow):  # audit events are staff-only reading; this is the actor's own plan
            cancelling = subscription.status != "cancelled" and _cancel_requested(s, subscription.id)
        return PlanStatus(subscription.id, plan_by_code(subscription.plan), subscription.status,
                          subscription.current_period_end, cancelling)


def cancel_subscription(actor: Actor) -> PlanStatus:
    """Cancel at the end of the paid month (README "Plans and credits"): the plan and its credits
    stay until then. Idempotent. With Stripe: `cancel_at_period_end`; locally the renewal stand-in
    ends the plan instead of renewing it."""
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Plans are for patients."))
    with unit_of_work(actor) as uow:
        s = uow.session
        _user_lock(uow, actor.user_id)
        subscription = _live(s, actor.user_id)
        if subscription is None:
            raise NotFound(N_("You have no plan to cancel."))
        plan = plan_by_code(subscription.plan)
        with acting_as_system(uow):
            already = _cancel_requested(s, subscription.id)
        if not already:
            provider = s.scalar(select(Payment.provider).where(Payment.id == subscription.id))
            if provider == "stripe" and subscription.provider_subscription_id:
                current_gateway().cancel_subscription_at_period_end(
                    subscription_id=subscription.provider_subscription_id, idempotency_key=f"cancel:{subscription.id}")
            record_audit(s, actor, action=CANCEL_REQUESTED, subject_type="subscription",
                         subject_id=str(subscription.id), at=clock.now(),
                         details={"plan": plan.code, "endsAt": subscription.current_period_end.isoformat()
                                  if subscription.current_period_end else None})
        return PlanStatus(subscription.id, plan, subscription.status, subscription.current_period_end, True)


@dataclass(frozen=True)
class PlanSession:
    """A plan's checkout session as its patient sees it (the local checkout page, the return page)."""

    session_id: str
    subscription_id: uuid.UUID
    plan: Plan
    amount_cents: int
    currency: str
    status: str  # the payment's
    failure_code: str | None
    provider: str
    subscription_status: str

    @property
    def metadata(self) -> dict[str, str]:
        return {"subscription_id": str(self.subscription_id), "payment_id": str(self.subscription_id),
                "plan": self.plan.code}

    @property
    def is_paid(self) -> bool:
        return self.status in SETTLED or self.subscription_status != "incomplete"


def plan_session(actor: Actor, session_id: str) -> PlanSession | None:
    """The actor's plan checkout with this session id; None when it is not a plan's (RLS: own rows)."""
    with unit_of_work(actor) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.provider_session_id == session_id))
        if payment is None or payment.kind != "subscription":
            return None
        subscription = uow.session.get(Subscription, payment.id)
        if subscription is None:
            return None
        return PlanSession(session_id, subscription.id, plan_by_code(subscription.plan), payment.amount_cents,
                           payment.currency, payment.status, payment.failure_code, payment.provider,
                           subscription.status)


# ---- webhook events (system actor, one transaction per event; `webhooks.handle` dedups event ids) ----

def _provider_subscription_id(obj) -> str | None:
    """The subscription an invoice belongs to: `parent.subscription_details` in current API versions,
    `subscription` in older ones."""
    details = ((obj.get("parent") or {}).get("subscription_details") or {})
    found = details.get("subscription") or obj.get("subscription")
    return found.get("id") if isinstance(found, dict) else found


def _our_id(obj) -> uuid.UUID | None:
    metadata = obj.get("metadata") or ((obj.get("parent") or {}).get("subscription_details") or {}).get("metadata") \
        or {}
    try:
        return uuid.UUID(metadata.get("subscription_id") or "")
    except ValueError:
        return None


def _subscription_for(uow: UnitOfWork, provider_id: str | None, obj) -> Subscription | None:
    """By the provider's id we stored; before we have stored it, by our id in the metadata we set
    on the subscription (signed by Stripe, and only ever pointing at a plan row of ours)."""
    s = uow.session
    if provider_id:
        found = s.scalar(select(Subscription).where(Subscription.provider_subscription_id == provider_id)
                         .with_for_update())
        if found is not None:
            return found
    ours = _our_id(obj)
    found = s.get(Subscription, ours, with_for_update=True) if ours else None
    if found is not None and found.provider_subscription_id not in (None, provider_id):
        return None  # metadata naming another provider subscription than the one we recorded
    return found


def _line_period(obj) -> tuple[int, int] | None:
    for line in ((obj.get("lines") or {}).get("data") or []):
        period = line.get("period") or {}
        if period.get("start") and period.get("end"):
            return int(period["start"]), int(period["end"])
    return None


def on_checkout_completed(uow: UnitOfWork, obj) -> str:
    """`checkout.session.completed` in subscription mode: the first month is paid — the plan is
    active and its credits are granted for [now, now + 1 month)."""
    s = uow.session
    payment = s.scalar(select(Payment).where(Payment.provider_session_id == obj["id"]).with_for_update())
    if payment is None or payment.kind != "subscription":
        return "unknown_session"
    subscription = s.get(Subscription, payment.id, with_for_update=True)
    if subscription is None:
        return "unknown_subscription"
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return "awaiting_payment"
    if obj.get("amount_total") is not None and obj["amount_total"] != payment.amount_cents:
        log.error("plan amount differs", extra={"paymentId": str(payment.id)})
        return "amount_mismatch"
    now = clock.now()
    if payment.status not in SETTLED:
        payment.status, payment.failure_code, payment.updated_at = "succeeded", None, now
        payment.provider_payment_id = obj.get("invoice") or payment.provider_payment_id
        issue_receipt(uow, payment)  # SPEC §18: every card payment gets its receipt
    provider_id = obj.get("subscription")
    provider_id = provider_id.get("id") if isinstance(provider_id, dict) else provider_id
    if provider_id and subscription.provider_subscription_id is None:
        subscription.provider_subscription_id = provider_id
    if _granted_months(s, subscription):
        return "already"
    if subscription.status == "incomplete":
        others = s.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.user_id == subscription.user_id, Subscription.status.in_(LIVE),
            Subscription.id != subscription.id))
        if others:  # two checkouts paid at once: both are honoured, the patient may cancel one
            log.warning("a second live plan", extra={"subscriptionId": str(subscription.id)})
        subscription.status = "active"
    # A plan cancelled before this event (out of order) still gets the month it paid for.
    start = _ts(now)
    _grant(s, subscription, start, _ts(add_month(now)), payment_id=payment.id)
    _audit(s, "subscription.activated", subscription, {"plan": subscription.plan})
    return "plan_activated" if subscription.status == "active" else "granted_after_cancel"


def on_invoice_paid(uow: UnitOfWork, obj) -> str:
    """`invoice.paid`: a renewal (`subscription_cycle`) lapses what is left of the months before and
    grants the new month's credits. The first invoice (`subscription_create`) grants nothing: the
    checkout's completion does. A month already granted, or older than one granted, changes nothing."""
    reason = obj.get("billing_reason")
    if reason not in ("subscription_cycle", "subscription_create"):
        return "ignored"
    s = uow.session
    subscription = _subscription_for(uow, _provider_subscription_id(obj), obj)
    if subscription is None:
        return "unknown_subscription"
    if reason == "subscription_create":
        return "first_invoice"
    if subscription.status == "cancelled":
        return "ignored_cancelled"
    if subscription.status == "incomplete":
        return "awaiting_checkout"
    period = _line_period(obj)
    if period is None:
        start = int(obj.get("period_end") or _ts(subscription.current_period_end or clock.now()))
        period = (start, _ts(add_month(_at(start))))
    start, end = period
    granted = _granted_months(s, subscription)
    if any(g_start == start for g_start, _ in granted):
        return "already"
    if granted and start < max(g_start for g_start, _ in granted):
        return "stale_period"
    _lapse(s, subscription.user_id, now=clock.now(), ended_before=(str(subscription.id), start))
    first = s.get(Payment, subscription.id)
    payment = Payment(user_id=subscription.user_id, appointment_id=None, kind="subscription",
                      provider=first.provider if first else "stripe", provider_payment_id=obj.get("id"),
                      amount_cents=int(obj.get("amount_paid") or plan_by_code(subscription.plan).price_cents),
                      currency=(obj.get("currency") or CURRENCY).upper(), status="succeeded",
                      created_at=clock.now(), updated_at=clock.now())
    s.add(payment)
    s.flush()
    issue_receipt(uow, payment)  # SPEC §18: every card payment gets its receipt
    subscription.status = "active"
    _grant(s, subscription, start, end, payment_id=payment.id)
    return "plan_renewed"


def on_invoice_failed(uow: UnitOfWork, obj) -> str:
    """`invoice.payment_failed`: the renewal did not go through — past_due while Stripe retries (no
    new credits until an `invoice.paid`). A failure for a month already paid is stale and ignored."""
    subscription = _subscription_for(uow, _provider_subscription_id(obj), obj)
    if subscription is None:
        return "unknown_subscription"
    if subscription.status not in LIVE:
        return "ignored"
    period = _line_period(obj)
    if period and subscription.current_period_end and period[1] <= _ts(subscription.current_period_end):
        return "ignored_already_paid"
    if subscription.status == "past_due":
        return "already"
    subscription.status = "past_due"
    _audit(uow.session, "subscription.past_due", subscription, {"invoice": obj.get("id")})
    return "past_due"


def on_subscription_deleted(uow: UnitOfWork, obj) -> str:
    """`customer.subscription.deleted`: the plan ends. Credits already granted stay usable to the end
    of their month (the sweep lapses them then); nothing is granted afterwards."""
    subscription = _subscription_for(uow, obj.get("id"), obj)
    if subscription is None:
        return "unknown_subscription"
    if subscription.status == "cancelled":
        return "already"
    subscription.status = "cancelled"
    if subscription.provider_subscription_id is None and obj.get("id"):
        subscription.provider_subscription_id = obj["id"]
    _lapse(uow.session, subscription.user_id, now=clock.now())
    _audit(uow.session, "subscription.cancelled", subscription, {"plan": subscription.plan})
    return "cancelled"


def on_subscription_updated(uow: UnitOfWork, obj) -> str:
    """`customer.subscription.updated`: a cancellation at period end asked for (or withdrawn) on
    Stripe's side too — the dashboard, the customer portal — is recorded like ours."""
    subscription = _subscription_for(uow, obj.get("id"), obj)
    if subscription is None or subscription.status not in LIVE or "cancel_at_period_end" not in obj:
        return "ignored"
    wanted, recorded = bool(obj["cancel_at_period_end"]), _cancel_requested(uow.session, subscription.id)
    if wanted == recorded:
        return "already"
    _audit(uow.session, CANCEL_REQUESTED if wanted else CANCEL_WITHDRAWN, subscription, {"source": "stripe"})
    return "cancel_scheduled" if wanted else "cancel_withdrawn"


EVENT_HANDLERS = {
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_failed,
    "customer.subscription.deleted": on_subscription_deleted,
    "customer.subscription.updated": on_subscription_updated,
}


def _audit(session, action: str, subscription: Subscription, details: dict) -> None:
    record_audit(session, SYSTEM, action=action, subject_type="subscription", subject_id=str(subscription.id),
                 at=clock.now(), details=details)


# ---- end of month ----

def lapse_ended_plan_credits(now: datetime | None = None) -> int:
    """Job: the unused credit of every plan month that has ended is lapsed, renewal or not (a
    cancelled or past_due plan gets no invoice.paid to do it). Returns how many patients lost some."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        users = uow.session.scalars(select(Subscription.user_id).where(
            Subscription.current_period_end <= now,
            Subscription.current_period_end > now - SWEEP_LOOKBACK).distinct()).all()
    written = 0
    for user_id in users:
        with unit_of_work(SYSTEM) as uow:
            written += 1 if _lapse(uow.session, user_id, now=now) else 0
    return written


def cancel_requested(subscription_id: uuid.UUID) -> bool:
    with unit_of_work(SYSTEM) as uow:
        return _cancel_requested(uow.session, subscription_id)
