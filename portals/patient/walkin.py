"""See a doctor now (SPEC §17): the button's page (health profile if missing, pay by card or
credit), the waiting room with the place in the queue, and its JSON state. Thin: the rules live
in core.walkin.queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from pydantic import Field
from spectree import Response

from core.accounts.profile import GENDERS, get_profile
from core.errors import DomainError, PaymentFailed, ProfileIncomplete
from core.payments.checkout import credit_offer
from core.walkin import queue
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.auth import current_actor, require_role
from portals.i18n import _, refusal_text
from portals.patient import patient
from portals.web.visitor import visitor_id


def _now_page(*, form=None, error: str | None = None):
    from portals.patient.pages import profile_form

    actor = current_user.actor
    open_id = queue.open_request_id(actor)
    if open_id is not None and queue.request_view(actor, open_id).status == "waiting":
        return redirect(url_for("patient.walkin_waiting", request_id=open_id))
    profile = get_profile(actor)
    if form is None and not profile.completed:
        form = profile_form(profile)
    return render_template("patient/now.html", available=queue.availability(), profile=profile, form=form,
                           genders=GENDERS, error=error, price_cents=queue.PRICE_CENTS, currency=queue.CURRENCY,
                           credit=credit_offer(actor, queue.PRICE_CENTS)), 422 if error else 200


@patient.get("/now")
def walkin_start():
    """"See a doctor now": a guest signs up first (the request survives it: `next=/now`)."""
    queue.record_button_pressed(current_actor(), visitor_id())
    if not current_user.is_authenticated:
        return redirect(url_for("public.signup", next=url_for("patient.walkin_start")))
    if current_user.role != "patient":
        flash(_("See a doctor now is for patients."), "info")
        return redirect(url_for("public.home"))
    return _now_page()


def _pay_by_card():
    try:
        started = queue.start_request(current_user.actor)
    except ProfileIncomplete:
        flash(_("Please save your health profile first: your doctor reads it before the consultation."), "error")
        return redirect(url_for("patient.walkin_start"))
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.walkin_start"))
    if started.checkout_url is None:
        return redirect(url_for("patient.walkin_waiting", request_id=started.request_id), code=303)
    return redirect(started.checkout_url, code=303)


@patient.post("/now/pay")
@require_role("patient")
def walkin_pay():
    """Pay €35 by card: Stripe's page, or the local stand-in (same webhook)."""
    return _pay_by_card()


@patient.post("/now/profile")
@require_role("patient")
def walkin_profile():
    """The health profile filled in on the same page, then straight on to payment."""
    from portals.patient.pages import ProfileForm, save_profile_form

    form = ProfileForm()
    error = save_profile_form(form)
    if error is not None:
        return _now_page(form=form, error=error)
    return _pay_by_card()


@patient.post("/now/credit")
@require_role("patient")
def walkin_pay_credit():
    try:
        started = queue.start_request(current_user.actor, by_card=False)
        queue.pay_with_credit(current_user.actor, started.request_id)
    except (PaymentFailed, ProfileIncomplete) as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.walkin_start"))
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.walkin_start"))
    return redirect(url_for("patient.walkin_waiting", request_id=started.request_id), code=303)


@patient.get("/now/<uuid:request_id>")
@require_role("patient")
def walkin_waiting(request_id: uuid.UUID):
    """The waiting room (SPEC §17): place in the queue and estimated wait, updating live; the device
    test meanwhile; keep waiting or a full refund after WALKIN_MAX_WAIT; the room once accepted."""
    view = queue.request_view(current_user.actor, request_id)
    if view.status == "accepted" and view.appointment_id:
        return redirect(url_for("patient.visit", appointment_id=view.appointment_id))
    return render_template("patient/now_waiting.html", view=view)


@patient.post("/now/<uuid:request_id>/leave")
@require_role("patient")
def walkin_leave(request_id: uuid.UUID):
    try:
        outcome = queue.leave(current_user.actor, request_id)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.walkin_waiting", request_id=request_id))
    if outcome == "left":
        flash(_("You left the queue. Your payment is refunded in full; we have emailed you the details."), "info")
    return redirect(url_for("patient.dashboard"), code=303)


@patient.post("/now/<uuid:request_id>/keep")
@require_role("patient")
def walkin_keep(request_id: uuid.UUID):
    queue.keep_waiting(current_user.actor, request_id)
    return redirect(url_for("patient.walkin_waiting", request_id=request_id), code=303)


class WalkinStateOut(ApiModel):
    id: uuid.UUID
    status: str = Field(description="unpaid | waiting | accepted | left | refunded | cancelled")
    position: int | None = Field(description="place in the queue while waiting (1 = next)")
    estimated_minutes: int | None
    waited_seconds: int
    refund_offered: bool = Field(description="after WALKIN_MAX_WAIT, or when no doctor takes consultations")
    doctors_taking: int
    appointment_id: uuid.UUID | None = Field(description="set once a doctor accepted: the room is /visit/<id>")
    readiness: str
    paid_at: datetime | None


@api_route(patient.get("/api/walkin/<uuid:request_id>"), role="patient",
           resp=Response(HTTP_200=WalkinStateOut, HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope,
                         HTTP_404=ErrorEnvelope), tags=["walk-in"])
def api_walkin_state(request_id: uuid.UUID):
    """The patient's own walk-in request (SPEC §17): polled by the waiting room."""
    v = queue.request_view(current_user.actor, request_id)
    return to_json(WalkinStateOut.model_validate(v))
