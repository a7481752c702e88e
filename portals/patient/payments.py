"""Paying for a held time (SPEC §8): the checkout page's buttons, the local stand-in for Stripe's
page, the return page, and the payment API. Thin: every rule lives in core.payments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import Field
from spectree import Response

from core import clock, runtime
from core.booking.queries import get_appointment
from core.errors import DomainError, NotFound, PaymentFailed, ProfileIncomplete
from core.i18n import N_
from core.payments import checkout, subscriptions, withdrawal
from core.payments import local_checkout as local_checkout_rules
from core.payments.local_checkout import CardOutcome, deliver_success
from core.payments.local_subscriptions import deliver_plan_success
from core.walkin import queue as walkin_queue
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.auth import require_role
from portals.i18n import _, day, money, refusal_text
from portals.patient import patient
from portals.web.visitor import visitor_zone


def _checkout_page(appointment_id: uuid.UUID):
    return redirect(url_for("patient.checkout", appointment_id=appointment_id))


@patient.post("/checkout/<uuid:appointment_id>/pay")
@require_role("patient")
def pay_by_card(appointment_id: uuid.UUID):
    """Open (or reuse) the checkout session and go to it: Stripe's page, or the local stand-in."""
    try:
        session = checkout.start_payment(current_user.actor, appointment_id)
    except ProfileIncomplete:
        flash(_("Please save your health profile first: your doctor reads it before the consultation."), "error")
        return _checkout_page(appointment_id)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.dashboard"))
    return redirect(session.url, code=303)


@patient.post("/checkout/<uuid:appointment_id>/profile")
@require_role("patient")
def checkout_profile(appointment_id: uuid.UUID):
    """The health profile filled in on the checkout page, then straight on to payment (one page
    fewer on a first booking). Invalid answers come back to the checkout page with their errors."""
    from portals.patient.pages import ProfileForm, render_checkout, save_profile_form

    form = ProfileForm()
    error = save_profile_form(form)
    if error is not None:
        return render_checkout(appointment_id, form=form, error=error)
    return pay_by_card(appointment_id)


@patient.post("/checkout/<uuid:appointment_id>/pay-with-credit")
@require_role("patient")
def pay_by_credit(appointment_id: uuid.UUID):
    try:
        checkout.pay_with_credit(current_user.actor, appointment_id)
    except (PaymentFailed, ProfileIncomplete) as exc:
        flash(refusal_text(exc), "error")
        return _checkout_page(appointment_id)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.dashboard"))
    return redirect(url_for("patient.checkout_done", appointment_id=appointment_id))


@patient.get("/checkout/<uuid:appointment_id>/done")
@require_role("patient")
def checkout_done(appointment_id: uuid.UUID):
    """Stripe's success_url. The webhook, not this page, confirms the payment: until it has, the
    page says the payment is being confirmed and refreshes itself."""
    appointment = get_appointment(current_user.actor, appointment_id)
    return render_template("patient/checkout_done.html", appointment=appointment)


# ---- the local stand-in for Stripe Checkout (no STRIPE_SECRET_KEY) ----

def _local_session(session_id: str) -> checkout.SessionInfo:
    if runtime.current().settings.stripe_secret_key:
        raise NotFound(N_("Payments go through Stripe here."))
    info = checkout.session_info(current_user.actor, session_id)
    if info.provider != "local":
        raise NotFound(N_("No such checkout session."))
    return info


CARD_REFUSALS = {
    CardOutcome.INVALID: (N_("Your card number, expiry date or security code is incorrect."), 422),
    CardOutcome.DECLINED: (N_("Your card was declined. Please try another card."), 402),
}


def card_field_errors(problems: dict[str, str]) -> dict[str, str]:
    """core.payments.local_checkout.card_problems' codes in words, field by field (issue 24)."""
    words = {
        ("card_number", "invalid"): _("Check the card number: it is not a valid card number."),
        ("card_number", "not_a_test_card"): _("This test checkout takes only the test cards listed above; "
                                              "no real card is charged here."),
        ("expiry", "format"): _("Type the expiry as month and year, for example 12/30."),
        ("expiry", "past"): _("This expiry date is in the past."),
        ("cvc", "invalid"): _("The security code is the 3 or 4 digits on the back of the card."),
    }
    return {field: words[(field, code)] for field, code in problems.items()}


def _card_form(session_id: str, metadata: dict[str, str], succeed, done):
    """The local page's card form posted: a redirect when the card went through (or needs the extra
    step), else the refusal to show, its status and what is wrong with each field."""
    number, expiry, cvc = (request.form.get(name, "") for name in ("card_number", "expiry", "cvc"))
    today = clock.now().date()
    problems = local_checkout_rules.card_problems(number, expiry, cvc, today)
    if problems:
        return None, _("Please correct the card details below."), 422, card_field_errors(problems)
    outcome = local_checkout_rules.try_card(number, expiry, cvc, today=today, session_id=session_id,
                                            metadata=metadata, succeed=succeed)
    if outcome is CardOutcome.SUCCEEDED:
        return done(), None, 200, {}
    if outcome is CardOutcome.REQUIRES_ACTION:
        return redirect(url_for("patient.local_checkout_authenticate", session_id=session_id)), None, 200, {}
    message, status = CARD_REFUSALS[outcome]
    return None, _(message), status, {}


def _authentication_form(session_id: str, metadata: dict[str, str], succeed, done):
    if local_checkout_rules.authenticate(request.form.get("decision") == "complete", session_id=session_id,
                                         metadata=metadata, succeed=succeed):
        return done()
    flash(_("The payment was not authenticated. Please try again or use another card."), "error")
    return redirect(url_for("patient.local_checkout", session_id=session_id))


@patient.route("/pay/<session_id>", methods=["GET", "POST"])
@require_role("patient")
def local_checkout(session_id: str):
    plan = _local_plan_session(session_id)
    if plan is not None:
        return _local_plan_checkout(plan)
    walkin = _local_walkin_session(session_id)
    if walkin is not None:
        return _local_walkin_checkout(walkin)
    info = _local_session(session_id)
    appointment = get_appointment(current_user.actor, info.appointment_id)

    def done():
        return redirect(url_for("patient.checkout_done", appointment_id=info.appointment_id))

    if info.status in ("succeeded", "refunded", "partially_refunded"):
        return done()
    if info.status == "cancelled":  # closed, like an expired Stripe session: paid another way
        flash(_("This card checkout is closed: the consultation was paid another way."), "info")
        return done()
    error, status, field_errors = None, 200, {}
    if request.method == "POST":
        response, error, status, field_errors = _card_form(
            session_id, info.metadata, lambda: deliver_success(session_id, info.amount_cents, info.metadata), done)
        if response is not None:
            return response
    return render_template("patient/local_checkout.html", info=info, appointment=appointment, error=error,
                           field_errors=field_errors), status


@patient.route("/pay/<session_id>/authenticate", methods=["GET", "POST"])
@require_role("patient")
def local_checkout_authenticate(session_id: str):
    """The extra confirmation step of card 4000 0025 0000 3155 (3-D Secure in Stripe's test mode)."""
    plan = _local_plan_session(session_id)
    if plan is not None:
        return _local_plan_authenticate(plan)
    walkin = _local_walkin_session(session_id)
    if walkin is not None:
        if request.method == "POST":
            return _authentication_form(session_id, walkin.metadata, lambda: _walkin_succeed(walkin),
                                        lambda: _walkin_done(walkin))
        return render_template("patient/local_checkout_authenticate.html", info=walkin)
    info = _local_session(session_id)
    if request.method == "POST":
        return _authentication_form(
            session_id, info.metadata, lambda: deliver_success(session_id, info.amount_cents, info.metadata),
            lambda: redirect(url_for("patient.checkout_done", appointment_id=info.appointment_id)))
    return render_template("patient/local_checkout_authenticate.html", info=info)


# ---- See a doctor now (SPEC §17): a payment that joins the queue, same page and webhook ----

def _local_walkin_session(session_id: str) -> walkin_queue.WalkinSession | None:
    if runtime.current().settings.stripe_secret_key:
        return None
    found = walkin_queue.walkin_session(current_user.actor, session_id)
    return found if found is not None and found.provider == "local" else None


def _walkin_done(info: walkin_queue.WalkinSession):
    return redirect(url_for("patient.walkin_waiting", request_id=info.request_id), code=303)


def _walkin_succeed(info: walkin_queue.WalkinSession):
    return deliver_success(info.session_id, info.amount_cents, info.metadata)


def _local_walkin_checkout(info: walkin_queue.WalkinSession):
    if info.status != "pending" and info.status != "failed":
        return _walkin_done(info)
    error, status, field_errors = None, 200, {}
    if request.method == "POST":
        response, error, status, field_errors = _card_form(
            info.session_id, info.metadata, lambda: _walkin_succeed(info), lambda: _walkin_done(info))
        if response is not None:
            return response
    return render_template("patient/local_checkout_walkin.html", info=info, error=error,
                           field_errors=field_errors), status


# ---- plans (SPEC §8): the pricing page's buttons and the local checkout of a plan ----

def _plan_done(session_id: str):
    return redirect(url_for("public.pricing", plan_session=session_id), code=303)


def _local_plan_session(session_id: str) -> subscriptions.PlanSession | None:
    if runtime.current().settings.stripe_secret_key:
        return None  # _local_session answers 404
    plan = subscriptions.plan_session(current_user.actor, session_id)
    if plan is not None and plan.provider != "local":
        raise NotFound(N_("No such checkout session."))
    return plan


def _local_plan_checkout(plan: subscriptions.PlanSession):
    if plan.is_paid:
        return _plan_done(plan.session_id)
    if plan.status == "cancelled":
        flash(_("That checkout was replaced or has expired. Please choose your plan again."), "error")
        return redirect(url_for("public.pricing"))
    error, status, field_errors = None, 200, {}
    if request.method == "POST":
        response, error, status, field_errors = _card_form(
            plan.session_id, plan.metadata, lambda: deliver_plan_success(plan), lambda: _plan_done(plan.session_id))
        if response is not None:
            return response
    return render_template("patient/local_checkout_plan.html", info=plan, error=error,
                           field_errors=field_errors), status


def _local_plan_authenticate(plan: subscriptions.PlanSession):
    if plan.is_paid:
        return _plan_done(plan.session_id)
    if request.method == "POST":
        return _authentication_form(plan.session_id, plan.metadata, lambda: deliver_plan_success(plan),
                                    lambda: _plan_done(plan.session_id))
    return render_template("patient/local_checkout_authenticate.html", info=plan)


@patient.post("/plans/<plan_code>/subscribe")
@require_role("patient")
def subscribe(plan_code: str):
    """The pricing page's "Choose Basic/Premium": open the plan's checkout and go to it."""
    try:
        session = subscriptions.start_subscription(current_user.actor, plan_code)
    except ProfileIncomplete:
        flash(_("Please save your health profile first: it is needed before your first payment."), "error")
        return redirect(url_for("patient.onboarding", next=url_for("public.pricing")))
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("public.pricing"))
    return redirect(session.url, code=303)


@patient.post("/plans/cancel")
@require_role("patient")
def cancel_plan():
    try:
        plan = subscriptions.cancel_subscription(current_user.actor)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
    else:
        if plan.current_period_end:
            flash(_("Your %(plan)s plan is cancelled. It stays active, with its credits, until the end of the month "
                    "you have paid for, on %(day)s.", plan=plan.plan.name,
                    day=day(plan.current_period_end.astimezone(visitor_zone()).date(), "long")), "info")
        else:
            flash(_("Your %(plan)s plan is cancelled. It stays active, with its credits, until the end of the month "
                    "you have paid for.", plan=plan.plan.name), "info")
    return redirect(url_for("public.pricing"), code=303)


@patient.post("/dashboard/billing/withdraw")
@require_role("patient")
def withdraw_plan():
    """Billing's "Withdraw and get refunded" (issue 25): the amount was stated on the tab."""
    try:
        done = withdrawal.withdraw(current_user.actor)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(_("You have withdrawn from your plan. It has ended and %(refund)s is being refunded to your card; "
                "the credit note is below.", refund=money(done.refund_cents)) if done.refund_cents else
              _("You have withdrawn from your plan. It has ended; nothing is refunded, your consultations used "
                "up its price."), "info")
    return redirect(url_for("patient.dashboard_billing"), code=303)


# ---- API ----

class PaymentStartRequest(ApiModel):
    appointment_id: uuid.UUID


class PaymentStartOut(ApiModel):
    appointment_id: uuid.UUID
    checkout_session_id: str
    checkout_url: str


@api_route(patient.post("/api/payment/start"), role="patient", json=PaymentStartRequest,
           resp=Response(HTTP_201=PaymentStartOut, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope,
                         HTTP_422=ErrorEnvelope), tags=["payments"])
def api_payment_start():
    """Open the checkout session of a held appointment (the same session while it is open).
    422 ERR_PROFILE_INCOMPLETE until the health profile is saved; 409 once the hold is gone."""
    body: PaymentStartRequest = request.context.json
    session = checkout.start_payment(current_user.actor, body.appointment_id)
    return to_json(PaymentStartOut(appointment_id=session.appointment_id, checkout_session_id=session.session_id,
                                   checkout_url=session.url), 201)


class SubscribeRequest(ApiModel):
    plan: Literal["basic", "premium"]


class SubscribeOut(ApiModel):
    subscription_id: uuid.UUID
    plan: str
    checkout_session_id: str
    checkout_url: str


class PlanOut(ApiModel):
    subscription_id: uuid.UUID
    plan: str
    status: str = Field(description="active | past_due | cancelled")
    credits_per_month: int
    price: int = Field(description="cents per month")
    current_period_end: datetime | None
    cancel_at_period_end: bool


def plan_out(p: subscriptions.PlanStatus) -> PlanOut:
    return PlanOut(subscription_id=p.subscription_id, plan=p.plan.code, status=p.status,
                   credits_per_month=p.plan.credits_per_month, price=p.plan.price_cents,
                   current_period_end=p.current_period_end, cancel_at_period_end=p.cancel_at_period_end)


@api_route(patient.post("/api/payment/subscribe"), role="patient", json=SubscribeRequest,
           resp=Response(HTTP_201=SubscribeOut, HTTP_403=ErrorEnvelope, HTTP_409=ErrorEnvelope, HTTP_422=ErrorEnvelope),
           tags=["payments"])
def api_subscribe():
    """Open the checkout of a monthly plan (Basic €29: 1 credit a month; Premium €59: 3 credits and
    priority support). 409 ERR_INVALID_STATE with a live plan (cancel it first); 422
    ERR_PROFILE_INCOMPLETE until the health profile is saved. The same open checkout on a repeat."""
    body: SubscribeRequest = request.context.json
    session = subscriptions.start_subscription(current_user.actor, body.plan)
    return to_json(SubscribeOut(subscription_id=session.subscription_id, plan=session.plan,
                                checkout_session_id=session.session_id, checkout_url=session.url), 201)


@api_route(patient.get("/api/payment/subscription"), role="patient",
           resp=Response(HTTP_200=PlanOut, HTTP_404=ErrorEnvelope), tags=["payments"])
def api_subscription():
    """The caller's plan: the live one, or a cancelled one whose paid month is not over."""
    plan = subscriptions.current_plan(current_user.actor)
    if plan is None:
        raise NotFound(N_("You have no plan."))
    return to_json(plan_out(plan))


@api_route(patient.delete("/api/payment/subscription"), role="patient",
           resp=Response(HTTP_200=PlanOut, HTTP_404=ErrorEnvelope), tags=["payments"])
def api_cancel_subscription():
    """Cancel the plan at the end of the paid month (it stays active with its credits until
    `currentPeriodEnd`). Idempotent; 404 without a live plan."""
    return to_json(plan_out(subscriptions.cancel_subscription(current_user.actor)))


class WithdrawalOut(ApiModel):
    subscription_id: uuid.UUID
    refund: int = Field(description="cents refunded to the card")
    credit_removed: int = Field(description="cents of unused plan credit removed")


@api_route(patient.post("/api/payment/subscription/withdraw"), role="patient",
           resp=Response(HTTP_200=WithdrawalOut, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope), tags=["payments"])
def api_withdraw_subscription():
    """Withdraw from the plan within 14 days of its start: it ends at once, its unused credit is
    removed and the price minus €35 per consultation had is refunded. 409 after the 14 days; 404
    without a live plan (a second request)."""
    done = withdrawal.withdraw(current_user.actor)
    return to_json(WithdrawalOut(subscription_id=done.subscription_id, refund=done.refund_cents,
                                 credit_removed=done.credit_removed_cents))
