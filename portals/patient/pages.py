"""Patient pages."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from core import clock
from core.accounts.profile import GENDERS, get_profile, save_profile
from core.booking.pending import get_pending
from core.doctors.directory import get_doctor
from core.errors import DomainError
from core.payments.checkout import credit_offer
from portals.auth import require_role
from portals.i18n import _, refusal_text
from portals.i18n import lazy_gettext as _l
from portals.patient import patient
from portals.web.navigation import safe_next


class ProfileForm(FlaskForm):
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired(_l("Enter your date of birth."))])
    gender = RadioField(_l("Gender"), choices=[SelectChoice(value, label) for value, label in GENDERS.items()],
                        validators=[DataRequired(_l("Choose one of the options."))])
    primary_conditions = TextAreaField(_l("Ongoing health conditions, one per line (leave empty if none)"),
                                       validators=[Length(max=2500)])
    allergies = TextAreaField(_l("Allergies, one per line (leave empty if none)"), validators=[Length(max=2500)])


def _lines(text: str | None) -> list[str]:
    return [line for line in (text or "").splitlines() if line.strip()]


def profile_form(profile) -> ProfileForm:
    """The profile form filled with what the patient saved before."""
    return ProfileForm(data={"date_of_birth": profile.date_of_birth, "gender": profile.gender,
                             "primary_conditions": "\n".join(profile.primary_conditions),
                             "allergies": "\n".join(profile.allergies)})


def save_profile_form(form: ProfileForm) -> str | None:
    """Validate and save a submitted profile form; the error to show, or None when saved."""
    if not form.validate_on_submit():
        return _("Please correct the highlighted answers.") if form.errors else _("Please fill in the form.")
    try:
        save_profile(current_user.actor, date_of_birth=form.date_of_birth.data, gender=form.gender.data,
                     primary_conditions=_lines(form.primary_conditions.data), allergies=_lines(form.allergies.data))
    except DomainError as exc:
        return refusal_text(exc)
    return None


@patient.route("/onboarding", methods=["GET", "POST"])
@require_role("patient")
def onboarding():
    """The health profile: required before the first payment, editable later (SPEC §6)."""
    next_url = safe_next(request.args.get("next"))
    profile = get_profile(current_user.actor)
    form = ProfileForm() if request.method == "POST" else profile_form(profile)
    error = None
    if form.validate_on_submit():
        error = save_profile_form(form)
        if error is None:
            flash(_("Your health profile is saved."), "info")
            return redirect(next_url or url_for("patient.dashboard"))
        profile = get_profile(current_user.actor)
    status = 422 if (error or form.errors) else 200
    return render_template("patient/onboarding.html", form=form, profile=profile, error=error,
                           next_url=next_url, genders=GENDERS), status


@patient.get("/checkout/<uuid:appointment_id>")
@require_role("patient")
def checkout(appointment_id: uuid.UUID):
    """The held time, its price and how long it stays held; payment starts here (SPEC §8)."""
    return render_checkout(appointment_id)


def render_checkout(appointment_id: uuid.UUID, *, form: ProfileForm | None = None, error: str | None = None):
    pending = get_pending(current_user.actor, appointment_id)
    if pending.status != "pending":
        flash(_("This booking is no longer waiting for payment."), "info")
        return redirect(url_for("patient.dashboard"))
    doctor = get_doctor(current_user.actor, pending.doctor_id)
    seconds_left = max(0, int((pending.hold_expires_at - clock.now()).total_seconds()))
    profile = get_profile(current_user.actor)
    if form is None and not profile.completed:
        form = profile_form(profile)
    status = 422 if error else 200
    return render_template("patient/checkout.html", pending=pending, doctor=doctor, seconds_left=seconds_left,
                           profile=profile, form=form, genders=GENDERS, error=error,
                           credit=credit_offer(current_user.actor, pending.price_cents),
                           next_url=url_for("patient.checkout", appointment_id=appointment_id)), status
