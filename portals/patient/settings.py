"""The dashboard's Settings tab (SPEC §9): name and email, password, time zone, reminders, and
deleting the account. Each is its own form (CSRF) posting to its own URL; a success redirects back
with that form's message, an error re-renders the page with the message next to the form and the
field it concerns. The rules are `core.accounts.settings` and `core.accounts.erasure`."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TelField
from wtforms.validators import Length

from core import clock, timezones
from core.accounts import erasure
from core.accounts.policy import MIN_LENGTH
from core.accounts.settings import (
    AccountSettings,
    change_name_and_email,
    change_password,
    get_settings,
    set_notifications,
    set_timezone,
)
from core.errors import CsrfRejected, DomainError
from core.i18n import N_
from portals.auth import SessionUser, require_role
from portals.i18n import _, refusal_text
from portals.i18n import lazy_gettext as _l
from portals.limits import PER_ACCOUNT_AUTH, limiter
from portals.patient import patient
from portals.patient.dashboard import TABS
from portals.patient.privacy import settings_context as privacy_context
from portals.web.visitor import device_zone, remember_device_zone, sync_saved_zone_cookie, visitor_zone

SAVED_KEY = "settings_saved"  # which form just saved: its message shows once, in its own section
SAVED = {
    "account": N_("Your name and email are saved."),
    "password": N_("Your password is changed. Every other device was signed out; this one stays signed in."),
    "timezone": N_("Your time zone is saved."),
    "notifications": N_("Your reminder settings are saved."),
}


class AccountForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[Length(max=200, message=_l("Use at most 200 characters."))])
    email = EmailField(_l("Email"), validators=[Length(max=254, message=_l("Use at most 254 characters."))])
    current_password = PasswordField(_l("Current password"), validators=[Length(max=200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[Length(max=200)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[Length(max=200)])


class TimezoneForm(FlaskForm):
    timezone = StringField(_l("Time zone"), validators=[Length(max=64)])  # core checks it against the list shown


class NotificationsForm(FlaskForm):
    email_reminders = BooleanField(_l("Email reminders"))
    sms_reminders = BooleanField(_l("SMS reminders"))
    email_message_notices = BooleanField(_l("Email me when a doctor writes"))
    phone = TelField(_l("Mobile number"), validators=[Length(max=32, message=_l("Use at most 32 characters."))])


class DeleteForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[Length(max=200)])
    confirm = StringField(_l("Type %(word)s to confirm", word=_l(erasure.CONFIRM_WORD)), validators=[Length(max=20)])


FORMS = {"account": AccountForm, "password": PasswordForm, "timezone": TimezoneForm,
         "notifications": NotificationsForm}


def _user_key() -> str:
    """Password guesses through these forms count per account, like sign-in (SPEC §6)."""
    return f"settings:{current_user.get_id() or get_remote_address()}"


# One budget for every form that checks the password (email, password, delete): 5 a minute.
password_checks = limiter.shared_limit(PER_ACCOUNT_AUTH, scope="settings-password", key_func=_user_key,
                                       methods=["POST"])


@patient.after_app_request
def _remember_saved_zone(response):
    return remember_device_zone(sync_saved_zone_cookie(response))


# ---- the page ----

@patient.get("/dashboard/settings")
@require_role("patient")
def dashboard_settings():
    return _page()


def _page(failed: str | None = None, form: FlaskForm | None = None, error: str | None = None):
    """The Settings page; `failed` names the form that was just refused (`form` keeps what was typed)."""
    current = get_settings(current_user.actor)
    forms = {name: _filled(name, current) for name in FORMS}
    if failed:
        forms[failed] = form
    common, others = timezones.zone_groups()
    now = clock.now()
    return render_template(
        "patient/dashboard_settings.html", tabs=TABS, tab="patient.dashboard_settings", forms=forms,
        settings=current, saved=session.pop(SAVED_KEY, None), messages=SAVED, failed=failed, error=error,
        zone_groups=[(N_("Common in Europe"), timezones.zone_options(common, now)),
                     (N_("All time zones"), timezones.zone_options(others, now))],
        shown_zone=visitor_zone().key, device_zone=device_zone(), min_length=MIN_LENGTH,
        **privacy_context(),  # SPEC §21: download my data, access log, marketing consent
    ), 422 if failed else 200


def _filled(name: str, current: AccountSettings) -> FlaskForm:
    data = {
        "account": {"full_name": current.full_name, "email": current.email},
        "password": {},
        "timezone": {"timezone": current.timezone or ""},
        "notifications": {"email_reminders": current.email_reminders, "sms_reminders": current.sms_reminders,
                          "phone": current.phone or "", "email_message_notices": current.email_message_notices},
    }[name]
    return FORMS[name](prefix=name, formdata=None, data=data)


def _refused(name: str, form: FlaskForm, exc: DomainError):
    """Re-render with the message under the field it concerns, else at the top of the form's section."""
    return _page(name, form, None if _on_fields(form, exc) else refusal_text(exc))


def _on_fields(form: FlaskForm, exc: DomainError) -> bool:
    """Put the error on the fields its details name; False when it names none of the form's."""
    placed = False
    for item in exc.details.get("fields", []):
        name = item.get("field", "")
        if name in form:
            form[name].errors = [_l(exc.message)]
            placed = True
    return placed


def _invalid(name: str, form: FlaskForm):
    """The form's own checks failed: lengths are shown on their fields; a stale token at the top."""
    return _page(name, form, None if _field_errors(form) else CsrfRejected.default_message)


def _field_errors(form: FlaskForm) -> bool:
    return any(f.errors for f in form if f.type != "CSRFTokenField")


def _saved(name: str):
    session[SAVED_KEY] = name
    return redirect(url_for("patient.dashboard_settings", _anchor=f"{name}-status"), code=303)


# ---- the forms ----

@patient.post("/dashboard/settings/account")
@password_checks
@require_role("patient")
def settings_account():
    form = AccountForm(prefix="account")
    if not form.validate_on_submit():
        return _invalid("account", form)
    try:
        change_name_and_email(current_user.actor, full_name=form.full_name.data or "", email=form.email.data or "",
                              current_password=form.current_password.data)
    except DomainError as exc:
        return _refused("account", form, exc)
    return _saved("account")


@patient.post("/dashboard/settings/password")
@password_checks
@require_role("patient")
def settings_password():
    form = PasswordForm(prefix="password")
    if not form.validate_on_submit():
        return _invalid("password", form)
    if (form.new_password.data or "") != (form.confirm.data or ""):
        form.confirm.errors = [_l("The two new passwords differ.")]
        return _invalid("password", form)
    try:
        user = change_password(current_user.actor, current_password=form.current_password.data or "",
                               new_password=form.new_password.data or "")
    except DomainError as exc:
        return _refused("password", form, exc)
    # The version was bumped: every other session is out. This one signs in again with the new
    # version, under a fresh session (no fixation), so the person who changed it stays in.
    session.clear()
    login_user(SessionUser(user))
    return _saved("password")


@patient.post("/dashboard/settings/timezone")
@require_role("patient")
def settings_timezone():
    form = TimezoneForm(prefix="timezone")
    if not form.validate_on_submit():
        return _invalid("timezone", form)
    try:
        set_timezone(current_user.actor, form.timezone.data)
    except DomainError as exc:
        return _refused("timezone", form, exc)
    return _saved("timezone")


@patient.post("/dashboard/settings/notifications")
@require_role("patient")
def settings_notifications():
    form = NotificationsForm(prefix="notifications")
    if not form.validate_on_submit():
        return _invalid("notifications", form)
    try:
        set_notifications(current_user.actor, email_reminders=form.email_reminders.data,
                          sms_reminders=form.sms_reminders.data, phone=form.phone.data,
                          email_message_notices=form.email_message_notices.data)
    except DomainError as exc:
        return _refused("notifications", form, exc)
    return _saved("notifications")


# ---- deleting the account ----

@patient.route("/dashboard/settings/delete", methods=["GET", "POST"])
@password_checks
@require_role("patient")
def settings_delete():
    """States what deleting does (cancellations, refunds, credit lost) before the patient confirms;
    the service decides again on POST."""
    form = DeleteForm(prefix="delete")
    failed, error = False, None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                result = erasure.erase_account(current_user.actor, password=form.password.data or "",
                                               confirmation=form.confirm.data or "")
            except DomainError as exc:
                failed, error = True, None if _on_fields(form, exc) else refusal_text(exc)
            else:
                logout_user()
                session.clear()
                session["account_deleted"] = {"cancelled": result.cancelled, "refunded": result.refunded_cents}
                return redirect(url_for("patient.account_deleted"), code=303)
        else:
            failed, error = True, None if _field_errors(form) else CsrfRejected.default_message
    preview = erasure.erasure_preview(current_user.actor)
    return render_template("patient/settings_delete.html", tabs=TABS, tab="patient.dashboard_settings", form=form,
                           preview=preview, error=error, refusal=None if preview.allowed else erasure.BLOCKING_MESSAGE,
                           confirm_word=_(erasure.CONFIRM_WORD)), 422 if failed else 200


@patient.get("/account/deleted")
def account_deleted():
    """The goodbye page, once, right after the deletion (the session says so; nobody is signed in)."""
    done = session.pop("account_deleted", None)
    if done is None:
        return redirect(url_for("public.home"))
    return render_template("patient/account_deleted.html", cancelled=done["cancelled"], refunded=done["refunded"])
