"""Account pages: sign-up, forgotten password, reset link (SPEC §6). Login lives in pages.py."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import runtime
from core.accounts.policy import MIN_LENGTH, password_strength
from core.accounts.reset_tokens import check_reset_token, request_password_reset, reset_password
from core.accounts.signup import sign_up
from core.errors import DomainError, LinkExpired
from portals.auth import sign_in
from portals.i18n import _, current_language, refusal_text
from portals.limits import (
    PER_ACCOUNT_FORGOT,
    PER_IP_FORGOT,
    PER_IP_SIGNUP,
    account_key,
    challenge_solved,
    fresh_challenge,
    human_check_needed,
    limiter,
    recaptcha_site_key,
)
from portals.public import public
from portals.public.forms import ForgotForm, HumanCheckFields, ResetForm, SignupForm
from portals.web.navigation import home_for_role, safe_next
from portals.web.visitor import visitor_id


def needs_human_check(form: HumanCheckFields, email: str, action: str) -> bool:
    if challenge_solved(form.challenge_token.data, form.challenge_answer.data):
        return False
    return human_check_needed(email, form.recaptcha_token.data, action)


@public.route("/signup", methods=["GET", "POST"])
@limiter.limit(PER_IP_SIGNUP, methods=["POST"])
def signup():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or home_for_role(current_user.role))
    form = SignupForm()
    error, challenge, strength = None, None, None
    if form.validate_on_submit():
        if needs_human_check(form, form.email.data, "signup"):
            challenge = fresh_challenge()
            error = _("Please answer the security question below.")
        else:
            try:
                user = sign_up(form.email.data, form.password.data, form.full_name.data,
                               visitor_id=visitor_id(), accept_terms=bool(form.accept_terms.data),
                               language=current_language())
            except DomainError as exc:
                error = refusal_text(exc)
                # The password is never sent back; the meter shows which rules it met (issue 24).
                email = form.email.data or ""
                strength = password_strength(form.password.data or "", user_inputs=(
                    email, email.split("@")[0], form.full_name.data or ""))
            else:
                sign_in(user)
                if next_url and (next_url.startswith("/book/") or next_url == "/now"):
                    # A booking in progress goes on at once (the time gets held); the health
                    # profile is asked at checkout, before the first payment (SPEC §6); the same
                    # for "See a doctor now" (SPEC §17), whose page asks it before paying.
                    flash(_("Welcome to Doktu! Your account is ready."), "info")
                    return redirect(next_url)
                flash(_("Welcome to Doktu! Tell us a little about your health to finish."), "info")
                return redirect(url_for("patient.onboarding", next=next_url) if next_url
                                else url_for("patient.onboarding"))
    status = 200 if request.method == "GET" else (422 if error or form.errors else 200)
    return render_template("public/signup.html", form=form, error=error, challenge=challenge, strength=strength,
                           next_url=next_url, min_length=MIN_LENGTH, site_key=recaptcha_site_key()), status


@public.route("/forgot", methods=["GET", "POST"])
@limiter.limit(PER_IP_FORGOT, methods=["POST"])
@limiter.limit(PER_ACCOUNT_FORGOT, key_func=account_key, methods=["POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data, base_url=runtime.current().settings.public_base_url)
        return render_template("public/forgot_sent.html"), 202
    return render_template("public/forgot.html", form=form), 422 if form.errors else 200


@public.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(PER_IP_FORGOT, methods=["POST"])
def reset(token: str):
    try:
        check_reset_token(token)
    except LinkExpired as exc:
        return render_template("public/reset_expired.html", message=refusal_text(exc)), 410
    form = ResetForm()
    error = None
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except DomainError as exc:
            if isinstance(exc, LinkExpired):
                return render_template("public/reset_expired.html", message=refusal_text(exc)), 410
            error = refusal_text(exc)
        else:
            sign_in(user)
            flash(_("Your password is changed. Every other session was signed out."), "info")
            return redirect(home_for_role(user.role))
    return render_template("public/reset.html", form=form, error=error, min_length=MIN_LENGTH), \
        422 if error or form.errors else 200
