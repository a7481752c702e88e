"""The patient dashboard (SPEC §9): Appointments · Book new · Health profile · Billing, as plain
server-rendered pages (each tab is a URL), with the reschedule and cancel flows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import clock
from core.accounts.profile import GENDERS, get_profile
from core.booking import changes, waitlist
from core.booking.dashboard import cancel_preview, patient_overview
from core.booking.queries import get_appointment
from core.doctors.directory import list_doctors
from core.documents.follow_ups import patient_follow_ups
from core.documents.receipts import list_receipts
from core.errors import DomainError
from core.i18n import N_
from core.payments.billing import billing_overview
from core.payments.withdrawal import withdrawal_quote
from core.ratings.reviews import rating_prompts
from core.scheduling.availability import next_free_slots
from core.walkin import queue as walkin_queue
from portals.auth import require_role
from portals.i18n import _, day, refusal_text, when
from portals.patient import patient
from portals.web.cards import HOME_GRID, day_strip
from portals.web.visitor import visitor_zone

TABS = [("patient.dashboard", N_("Appointments")), ("patient.dashboard_book", N_("Book new")),
        ("patient.dashboard_profile", N_("Health profile")), ("patient.dashboard_documents", N_("Documents")),
        ("patient.dashboard_billing", N_("Billing")),
        ("patient.dashboard_messages", N_("Messages")), ("patient.dashboard_settings", N_("Settings"))]


def _render(template: str, tab: str, **context):
    return render_template(template, tabs=TABS, tab=tab, **context)


@patient.get("/dashboard")
@require_role("patient")
def dashboard():
    actor = current_user.actor
    return _render("patient/dashboard.html", "patient.dashboard", overview=patient_overview(actor),
                   rating_prompts=rating_prompts(actor), follow_ups=patient_follow_ups(actor),
                   walkin_id=walkin_queue.open_request_id(actor), waitlist=waitlist.my_waitlist(actor),
                   local_when=lambda moment: when(moment, visitor_zone()),
                   local_day=lambda moment: day((moment.astimezone(visitor_zone()) - timedelta(days=1)).date(),
                                                "long"))


@patient.get("/dashboard/book")
@require_role("patient")
def dashboard_book():
    doctors = list_doctors(current_user.actor, limit=HOME_GRID)
    slots = next_free_slots(current_user.actor, [d.id for d in doctors], count=2) if doctors else {}
    return _render("patient/dashboard_book.html", "patient.dashboard_book", doctors=doctors, next_slots=slots)


@patient.get("/dashboard/profile")
@require_role("patient")
def dashboard_profile():
    from portals.patient.pages import profile_form

    profile = get_profile(current_user.actor)
    form = profile_form(profile)
    return _render("patient/dashboard_profile.html", "patient.dashboard_profile", profile=profile, form=form,
                   genders=GENDERS, error=None, next_url=url_for("patient.dashboard_profile"))


@patient.get("/dashboard/billing")
@require_role("patient")
def dashboard_billing():
    return _render("patient/dashboard_billing.html", "patient.dashboard_billing",
                   billing=billing_overview(current_user.actor), receipts=list_receipts(current_user.actor),
                   withdrawal=withdrawal_quote(current_user.actor))


# ---- cancel ----

@patient.route("/dashboard/appointments/<uuid:appointment_id>/cancel", methods=["GET", "POST"])
@require_role("patient")
def cancel_page(appointment_id: uuid.UUID):
    """States the refund before the patient confirms; the service decides again on POST."""
    appointment = get_appointment(current_user.actor, appointment_id)
    now = clock.now()
    if request.method == "POST":
        refund_as = request.form.get("refund_as", "card")
        try:
            done = changes.cancel(current_user.actor, appointment_id, request.form.get("reason") or None,
                                  refund_as=refund_as)
        except DomainError as exc:
            flash(refusal_text(exc), "error")
            return redirect(url_for("patient.cancel_page", appointment_id=appointment_id))
        flash(_cancel_message(done.refund), "info")
        return redirect(url_for("patient.dashboard"))
    try:
        preview = {choice: cancel_preview(appointment, now, choice) for choice in ("card", "credit")}
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.dashboard"))
    from core.booking import policy

    refusal = policy.cancel_refusal(actor_role="patient", now=now, start=appointment.start_at,
                                    status=appointment.status, reason=None)
    return _render("patient/cancel.html", "patient.dashboard", appointment=appointment, preview=preview,
                   refusal=refusal.message if refusal else None)


def _cancel_message(refund) -> str:
    from portals.web.formatting import money

    parts = [_("Your appointment is cancelled.")]
    if refund.refund_cents:
        parts.append(_("%(amount)s is refunded to your card (it shows in 5–10 days).",
                       amount=money(refund.refund_cents)))
    if refund.credit_cents:
        parts.append(_("%(amount)s is added to your credit.", amount=money(refund.credit_cents)))
    if refund.late_credit_cents:
        parts.append(_("We added %(amount)s of credit for the inconvenience.", amount=money(refund.late_credit_cents)))
    return " ".join(parts)


# ---- reschedule ----

@patient.route("/dashboard/appointments/<uuid:appointment_id>/reschedule", methods=["GET", "POST"])
@require_role("patient")
def reschedule_page(appointment_id: uuid.UUID):
    appointment = get_appointment(current_user.actor, appointment_id)
    if request.method == "POST":
        try:
            new_start = datetime.fromisoformat(request.form.get("start", ""))
            moved = changes.reschedule(current_user.actor, appointment_id, new_start=new_start)
        except ValueError:
            flash(_("Please pick a time from the list."), "error")
        except DomainError as exc:
            flash(refusal_text(exc), "error")
        else:
            from portals.web.visitor import long_moment

            flash(_("Your appointment is moved to %(when)s.", when=long_moment(moved.start)), "info")
            return redirect(url_for("patient.dashboard"))
        return redirect(url_for("patient.reschedule_page", appointment_id=appointment_id))
    strip = day_strip(appointment.doctor_id)
    slots = [e for e in strip.slots if e.start != appointment.start_at]
    return _render("patient/reschedule.html", "patient.dashboard", appointment=appointment, strip=strip, slots=slots)
