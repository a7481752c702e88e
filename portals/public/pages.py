"""Public pages: home, login, logout, and the operators' health checks."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import text
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from core import db
from core.accounts.authentication import authenticate
from core.actor import ANONYMOUS
from core.doctors.directory import list_doctors
from core.errors import Unauthenticated
from portals.auth import SessionUser
from portals.public import public
from portals.state import state

log = logging.getLogger(__name__)

ROLE_HOMES = {"patient": "/dashboard", "doctor": "/doctor/", "admin": "/admin/"}


def home_for_role(role: str) -> str:
    return ROLE_HOMES.get(role, "/")


def initials(name: str) -> str:
    words = [w for w in name.replace("Dr.", "").replace("Dr ", "").split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@public.app_context_processor
def _template_helpers() -> dict:
    return {"home_for_role": home_for_role, "initials": initials}


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."),
                                            Email("Enter a valid email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=200)])


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@public.get("/")
def home():
    return render_template("public/home.html", doctors=list_doctors(ANONYMOUS))


@public.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or home_for_role(current_user.role))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except Unauthenticated as exc:
            error = exc.message
        else:
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(SessionUser(user))
            log.info("signed in", extra={"userId": str(user.id), "role": user.role})
            return redirect(next_url or home_for_role(user.role))
    status = 401 if error else (422 if form.errors else 200)
    return render_template("public/login.html", form=form, error=error, next_url=next_url), status


@public.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("public/logout.html")
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("public.home"))


@public.get("/healthz")
def healthz():
    return {"status": "ok"}


@public.get("/readyz")
def readyz():
    checks = {"database": "ok", "redis": "ok"}
    try:
        with db.current().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        state().redis.ping()
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503
