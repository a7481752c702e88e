"""The waitlist (SPEC §17): "tell me if an earlier time frees up" from a doctor's booking card, and
the offer on the dashboard (take it, or let the next person have it). Thin: the rules are in
core.booking.waitlist."""

from __future__ import annotations

import uuid

from flask import flash, redirect, request, url_for
from flask_login import current_user

from core.booking import waitlist
from core.errors import DomainError, ValidationFailed
from portals.auth import require_role
from portals.hygiene import parse_day
from portals.i18n import _, refusal_text, when
from portals.patient import patient
from portals.web.visitor import visitor_zone


def _profile(doctor_id: uuid.UUID):
    return redirect(url_for("public.doctor_profile", doctor_id=doctor_id) + "#waitlist")


@patient.post("/doctors/<uuid:doctor_id>/waitlist")
@require_role("patient")
def waitlist_join(doctor_id: uuid.UUID):
    try:
        until = parse_day(request.form.get("until"))
        if until is None:
            raise ValidationFailed(_("Pick the last day you could make."))
        entry = waitlist.join_waitlist(current_user.actor, doctor_id, until)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return _profile(doctor_id)
    flash(_("Done: we will email you if an earlier time with %(doctor)s frees up.", doctor=entry.doctor_name),
          "info")
    return _profile(doctor_id)


@patient.post("/dashboard/waitlist/<uuid:entry_id>/leave")
@require_role("patient")
def waitlist_leave(entry_id: uuid.UUID):
    try:
        waitlist.leave_waitlist(current_user.actor, entry_id)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(_("You will no longer be told about earlier times with this doctor."), "info")
    doctor = request.form.get("doctor", "")
    try:  # stopped from the booking card: back there
        return _profile(uuid.UUID(doctor))
    except ValueError:
        return redirect(url_for("patient.dashboard") + "#waitlist")


@patient.post("/dashboard/waitlist/offers/<uuid:offer_id>/accept")
@require_role("patient")
def waitlist_accept(offer_id: uuid.UUID):
    try:
        answer = waitlist.accept_offer(current_user.actor, offer_id)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("patient.dashboard") + "#waitlist")
    if answer.outcome == "booked":
        return redirect(url_for("patient.checkout", appointment_id=answer.appointment_id))
    flash(_("Your appointment is moved to %(when)s.", when=when(answer.start, visitor_zone())), "info")
    return redirect(url_for("patient.dashboard"))


@patient.post("/dashboard/waitlist/offers/<uuid:offer_id>/decline")
@require_role("patient")
def waitlist_decline(offer_id: uuid.UUID):
    try:
        waitlist.decline_offer(current_user.actor, offer_id)
    except DomainError as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(_("Let go: the time goes to the next person waiting. We keep looking for you."), "info")
    return redirect(url_for("patient.dashboard") + "#waitlist")
