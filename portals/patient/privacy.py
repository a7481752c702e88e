"""Privacy, self-service pages (SPEC §21): download my data, who looked at my record, consents,
email verification. The rules are in `core.privacy`; these views parse, call one service, render.

- `/account/data` (any signed-in role; patients also see it in Settings): ask for an export; the
  emailed link `/account/data/download/<token>` downloads it once, signed in as the same account.
- `/dashboard/settings/access-log?page=N`: the patient's access log, paged on the server.
- `/account/consents?next=…`: after sign-in, when the terms or the privacy notice changed, the
  user accepts the new version (an unticked checkbox) before going on to `next`.
- `/verify-email/<token>` confirms the address (no sign-in needed); the dashboard's banner resends.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from core.errors import CsrfRejected, DomainError, LinkExpired
from core.privacy import access_log, consents, export, verification
from core.privacy.consents import ConsentState
from portals.auth import require_role
from portals.consent_gate import CONSENT_DUE
from portals.i18n import _, refusal_text
from portals.i18n import lazy_gettext as _l
from portals.patient import patient
from portals.patient.dashboard import TABS

ANY_ROLE = ("patient", "doctor", "admin")
# Where a user with consents due may still go: the interstitial itself, the documents it links
# to, signing out, assets.
CONSENT_FREE = ("/account/consents", "/legal/", "/logout", "/static/", "/healthz", "/readyz", "/verify-email/")


class ActionForm(FlaskForm):
    """A button that changes something: the CSRF token only."""


class MarketingForm(FlaskForm):
    marketing = BooleanField(_l("Send me news and offers from Doktu by email"))


class ConsentForm(FlaskForm):
    accept = BooleanField(_l("I accept the terms of use and the privacy notice"))


# ---- the consent gate (set at sign-in by `portals.consent_gate`, enforced here) ----

@patient.before_app_request
def _consent_gate():
    if not session.get(CONSENT_DUE) or not current_user.is_authenticated:
        return None
    if request.path.startswith(CONSENT_FREE) or request.path.startswith("/api/") or "/_dash-" in request.path:
        return None  # JSON and Dash's background requests: the page that made them was gated already
    return redirect(url_for("patient.consents_page", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str | None:
    from portals.web.navigation import safe_next

    return safe_next(target)


@patient.route("/account/consents", methods=["GET", "POST"])
@require_role(*ANY_ROLE)
def consents_page():
    next_url = _safe_next(request.args.get("next"))
    state = consents.consent_state(current_user.actor)
    if not state.outdated:
        session.pop(CONSENT_DUE, None)
        return redirect(next_url or _home())
    form = ConsentForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            error = CsrfRejected.default_message
        else:
            try:
                consents.accept_current(current_user.actor, accepted=bool(form.accept.data))
            except DomainError as exc:
                error = refusal_text(exc)
            else:
                session.pop(CONSENT_DUE, None)
                return redirect(next_url or _home(), code=303)
    return render_template("patient/consents.html", form=form, error=error, next_url=next_url,
                           outdated=state.outdated, versions=consents.REQUIRED), 422 if error else 200


def _home() -> str:
    from portals.web.navigation import home_for_role

    return home_for_role(current_user.role)


# ---- download my data ----

def _settings_or_data_page() -> str:
    if current_user.role == "patient":
        return url_for("patient.dashboard_settings", _anchor="privacy")
    return url_for("patient.data_page")


@patient.get("/account/data")
@require_role(*ANY_ROLE)
def data_page():
    """Doctors' and admins' way to their data (patients have the same in Settings)."""
    return render_template("patient/data.html", latest=export.latest_export(current_user.actor), form=ActionForm(),
                           marketing_form=_marketing_form(), consent=consents.consent_state(current_user.actor))


@patient.post("/account/data/export")
@require_role(*ANY_ROLE)
def data_export_request():
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_(CsrfRejected.default_message), "error")
    else:
        try:
            export.request_export(current_user.actor)
        except DomainError as exc:
            flash(refusal_text(exc), "error")
        else:
            flash(_("We are preparing your data. We will email you a download link, valid 24 hours, within a "
                    "few minutes."), "info")
    return redirect(_settings_or_data_page(), code=303)


@patient.get("/account/data/download/<token>")
@require_role(*ANY_ROLE)
def data_export_download(token: str):
    try:
        filename, archive = export.download_export(current_user.actor, token)
    except LinkExpired as exc:
        return render_template("patient/link_expired.html", message=refusal_text(exc),
                               again=_settings_or_data_page()), 410
    import io

    response = send_file(io.BytesIO(archive), mimetype="application/zip", as_attachment=True,
                         download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- marketing consent ----

def _marketing_form(state: ConsentState | None = None) -> MarketingForm:
    state = state or consents.consent_state(current_user.actor)
    return MarketingForm(formdata=None, data={"marketing": state.marketing})


@patient.post("/account/marketing")
@require_role(*ANY_ROLE)
def marketing_consent():
    form = MarketingForm()
    if not form.validate_on_submit():
        flash(_(CsrfRejected.default_message), "error")
    else:
        on = consents.set_marketing(current_user.actor, bool(form.marketing.data))
        flash(_("You will receive news and offers by email.") if on else _("You will not receive news or offers."),
              "info")
    return redirect(_settings_or_data_page(), code=303)


# ---- who looked at my record ----

@patient.get("/dashboard/settings/access-log")
@require_role("patient")
def access_log_page():
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    result = access_log.access_log(current_user.actor, page)
    return render_template("patient/access_log.html", tabs=TABS, tab="patient.dashboard_settings", log=result)


# ---- email verification ----

@patient.get("/verify-email/<token>")
def verify_email(token: str):
    try:
        verification.verify_email(token)
    except LinkExpired as exc:
        return render_template("patient/link_expired.html", message=refusal_text(exc),
                               again=url_for("patient.dashboard") if current_user.is_authenticated
                               else url_for("public.login")), 410
    return render_template("patient/email_verified.html")


@patient.post("/account/verify-email/resend")
@require_role(*ANY_ROLE)
def resend_verification():
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_(CsrfRejected.default_message), "error")
    elif verification.resend_link(current_user.actor):
        flash(_("We sent a new confirmation link to your email address."), "info")
    else:
        flash(_("A confirmation link is already on its way, or your address is confirmed."), "info")
    return redirect(_safe_next(request.args.get("next")) or url_for("patient.dashboard"), code=303)


@patient.app_context_processor
def _privacy_context():
    """The dashboard's "confirm your email" banner (SPEC §21), on patients' dashboard pages only."""
    if not request.path.startswith("/dashboard") or not current_user.is_authenticated \
            or current_user.role != "patient":
        return {}
    if "email_unverified" not in g:
        g.email_unverified = not verification.is_verified(current_user.actor)
    return {"email_unverified": g.email_unverified, "resend_form": ActionForm()}


def settings_context() -> dict:
    """What the Settings page's privacy section shows (called by `portals.patient.settings`)."""
    state = consents.consent_state(current_user.actor)
    return {"latest_export": export.latest_export(current_user.actor), "export_form": ActionForm(),
            "marketing_form": _marketing_form(state)}
