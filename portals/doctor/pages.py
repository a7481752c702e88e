"""A doctor comes on board (SPEC §19): the invitation link, then the onboarding page — password
first, then the professional profile, photo, weekly hours and "submit for review", with a progress
indicator. Plain server-rendered forms (CSRF, labels, errors tied to their fields); the rules are in
core.doctors.onboarding, core.doctors.photos and core.scheduling.weekly. Also the public photo and
the private calendar feed."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from core import clock, runtime, timezones
from core.accounts.policy import MIN_LENGTH
from core.doctors import calendar_feed as feed
from core.doctors import onboarding, photos
from core.doctors import settings as doctor_settings
from core.errors import DomainError, LinkExpired
from core.scheduling import weekly
from portals.auth import current_actor, require_role, sign_in
from portals.i18n import _, refusal_text
from portals.i18n import lazy_gettext as _l

doctor_pages = Blueprint("doctor_pages", __name__)
PHOTO_REQUEST_LIMIT = photos.MAX_BYTES + 256 * 1024  # the file plus the form around it


def _photo_request_limit() -> None:
    """The app accepts 1 MB bodies; the photo form may carry a 2 MB file. Raised before anything
    (CSRF protection included) reads the body, so this runs first among the app's hooks."""
    if request.endpoint == "doctor_pages.upload_photo":
        request.max_content_length = PHOTO_REQUEST_LIMIT


@doctor_pages.record_once
def _install_limit(setup_state) -> None:
    setup_state.app.before_request_funcs.setdefault(None, []).insert(0, _photo_request_limit)


class JoinForm(FlaskForm):
    full_name = StringField(_l("Your name as patients will see it"),
                            validators=[DataRequired(_l("Enter your name.")), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Choose a password.")), Length(max=200)])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[EqualTo("password", _l("The two passwords differ."))])


class CsrfOnly(FlaskForm):
    pass


@doctor_pages.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    """The invitation link: choose a password (step 1), then on to the profile."""
    try:
        email = onboarding.check_invitation(token)
    except LinkExpired as expired:
        return render_template("doctor/join_expired.html", message=refusal_text(expired)), 410
    form = JoinForm()
    error = None
    if form.validate_on_submit():
        try:
            user = onboarding.accept_invitation(token, full_name=form.full_name.data, password=form.password.data)
        except DomainError as refused:
            error = refusal_text(refused)
        else:
            sign_in(user)
            flash(_("Your account is ready. Now complete your professional profile."), "info")
            return redirect(url_for("doctor_pages.onboarding_page"))
    status = 200 if request.method == "GET" else 422
    return render_template("doctor/join.html", form=form, email=email, error=error, min_length=MIN_LENGTH), status


def _form_values(state: onboarding.OnboardingState) -> dict:
    return {"name": state.name, "specialty": state.specialty, "rpps": state.rpps, "languages": state.languages,
            "price": f"{state.price_cents / 100:.2f}", "bio": state.bio, "education": "\n".join(state.education),
            "expertise": "\n".join(state.expertise), "philosophy": state.philosophy, "timezone": state.timezone}


def _render(state, *, values=None, error=None, section=None, hours=None, status=200):
    week, _own = doctor_settings.get_weekly_hours(current_user.actor)
    hours = hours or [weekly.day_text(week, i) for i in range(7)]
    return render_template(
        "doctor/onboarding.html", state=state, values=values or _form_values(state), error=error, section=section,
        specialties=onboarding.SPECIALTIES, languages=onboarding.LANGUAGES,
        zones=timezones.zone_options(timezones.selectable_zones(), clock.now()),
        hours=list(zip(weekly.WEEKDAYS, weekly.WEEKDAY_LABELS, hours, strict=True)), csrf=CsrfOnly(),
        max_mb=photos.MAX_BYTES // (1024 * 1024)), status


@doctor_pages.route("/doctor-onboarding", methods=["GET", "POST"])
@require_role("doctor")
def onboarding_page():
    """The professional profile, photo, weekly hours and submission, each its own form."""
    actor = current_user.actor
    state = onboarding.onboarding_state(actor)
    if request.method == "GET":
        return _render(state)
    if not CsrfOnly().validate_on_submit():
        return _render(state, error=_("The form expired. Please try again."), status=400)
    action = request.form.get("action")
    try:
        if action == "profile":
            values = {k: request.form.get(k, "") for k in ("name", "specialty", "rpps", "price", "bio", "education",
                                                            "expertise", "philosophy", "timezone")}
            values["languages"] = request.form.getlist("languages")
            try:
                profile = onboarding.validate_profile(
                    name=values["name"], specialty=values["specialty"], rpps=values["rpps"],
                    languages=values["languages"], price_euros=values["price"], bio=values["bio"],
                    education=values["education"], expertise=values["expertise"], philosophy=values["philosophy"],
                    timezone=values["timezone"])
                onboarding.save_profile(actor, profile)
            except DomainError as refused:
                return _render(state, values=values, error=refusal_text(refused), section="profile",
                               status=refused.status)
            flash(_("Your professional profile is saved."), "info")
        elif action == "hours":
            days = [request.form.get(f"hours-{key}", "") for key in weekly.WEEKDAYS]
            try:
                raw = {key: weekly.parse_day_text(text, label)
                       for key, label, text in zip(weekly.WEEKDAYS, weekly.WEEKDAY_LABELS, days, strict=True)}
                doctor_settings.set_weekly_hours(actor, raw)
            except DomainError as refused:
                return _render(state, error=refusal_text(refused), section="hours", hours=days, status=refused.status)
            flash(_("Your weekly hours are saved."), "info")
        elif action == "submit":
            onboarding.submit_for_review(actor)
            flash(_("Thank you: your profile is submitted for review. We will email you once it is approved."), "info")
        else:
            return _render(state, error=_("Unknown action."), status=400)
    except DomainError as refused:
        return _render(onboarding.onboarding_state(actor), error=refusal_text(refused), status=refused.status)
    return redirect(url_for("doctor_pages.onboarding_page"))


@doctor_pages.post("/doctor-onboarding/photo")
@require_role("doctor")
def upload_photo():
    """The photo form (multipart): up to 2 MB, JPEG/PNG/WebP, re-encoded by core.doctors.photos."""
    state = onboarding.onboarding_state(current_user.actor)
    if not CsrfOnly().validate_on_submit():
        return _render(state, error=_("The form expired. Please try again."), section="photo", status=400)
    upload = request.files.get("photo")
    try:
        photos.upload_photo(current_user.actor, upload.read(photos.MAX_BYTES + 1) if upload else b"")
    except DomainError as refused:
        return _render(state, error=refusal_text(refused), section="photo", status=refused.status)
    flash(_("Your photo is saved."), "info")
    return redirect(url_for("doctor_pages.onboarding_page"))


@doctor_pages.get("/doctors/<uuid:doctor_id>/photo.<kind>")
def photo(doctor_id: uuid.UUID, kind: str):
    data, media_type = photos.photo_bytes(current_actor(), doctor_id, kind)
    response = Response(data, mimetype=media_type)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@doctor_pages.get("/calendar/<uuid:doctor_id>/<token>.ics")
def calendar_feed(doctor_id: uuid.UUID, token: str):
    """The doctor's private iCalendar feed (a secret URL: no sign-in, as calendar apps fetch it)."""
    settings = runtime.current().settings
    body = feed.build_feed(doctor_id, token, settings.secret_key, base_url=settings.public_base_url)
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Content-Disposition"] = 'inline; filename="doktu.ics"'
    return response
