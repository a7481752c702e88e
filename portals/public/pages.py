"""Public pages: home, login, logout, and the operators' health checks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import text

from core import clock, db, runtime
from core.accounts.authentication import authenticate, sign_out_everywhere
from core.actor import ANONYMOUS
from core.doctors.directory import list_doctors
from core.errors import Unauthenticated
from core.scheduling import availability_cache
from core.scheduling.availability import next_free_slots
from core.walkin import queue as walkin_queue
from portals.auth import SessionUser, current_actor
from portals.consent_gate import check_consents_at_sign_in
from portals.i18n import _, refusal_text
from portals.limits import (
    PER_IP_AUTH,
    challenge_solved,
    clear_failures,
    fresh_challenge,
    limiter,
    recaptcha_site_key,
    record_failure,
    sign_in_check_needed,
)
from portals.public import public
from portals.public.forms import LoginForm
from portals.web.cards import HOME_GRID
from portals.web.formatting import money
from portals.web.navigation import home_for_role, safe_next
from portals.web.visitor import clock_time, day_label, long_moment

log = logging.getLogger(__name__)

def initials(name: str) -> str:
    words = [w for w in name.replace("Dr.", "").replace("Dr ", "").split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@public.app_context_processor
def _template_helpers() -> dict:
    return {"home_for_role": home_for_role, "initials": initials, "clock_time": clock_time,
            "day_label": day_label, "long_moment": long_moment, "money": money}


class HomeGrid:
    """The home grid for anonymous visitors, kept in each worker for at most `TTL` (issue 21): the
    batch of ten calendars ran on every visit. It is also dropped as soon as any calendar changes
    (a booking, a hold, a slot toggled: the availability cache's generation counter in Redis, one
    GET), so a booked time disappears at once; profile edits show within `TTL`. A signed-in
    patient's grid is computed afresh (their own holds show), and a start seen here is re-checked
    when it is held. Off while a test injects sessions (its rolled-back data must not outlive it)
    unless the test turns it on."""

    TTL = timedelta(seconds=60)

    def __init__(self) -> None:
        self.enabled_in_tests = False
        self._kept: tuple[datetime, int, list, dict] | None = None

    def get(self, actor) -> tuple[list, dict]:
        now = clock.now()
        cacheable = actor is ANONYMOUS and (self.enabled_in_tests or not db.current().factory_injected)
        generation = availability_cache.generation() if cacheable else None
        kept = self._kept
        if (generation is not None and kept is not None and kept[1] == generation
                and kept[0] <= now < kept[0] + self.TTL):
            return kept[2], kept[3]
        doctors = list_doctors(ANONYMOUS, limit=HOME_GRID)
        next_slots = next_free_slots(actor, [d.id for d in doctors], count=2) if doctors else {}
        if generation is not None:
            self._kept = (now, generation, doctors, next_slots)
        return doctors, next_slots

    def clear(self) -> None:
        self._kept = None


home_grid = HomeGrid()


@public.get("/")
def home():
    """The fixed 10-doctor grid with each doctor's next two free times, from one batch query
    (for anonymous visitors, at most 60 s old)."""
    doctors, next_slots = home_grid.get(current_actor())
    return render_template("public/home.html", doctors=doctors, next_slots=next_slots,
                           see_now=walkin_queue.availability())


@public.route("/login", methods=["GET", "POST"])
@limiter.limit(PER_IP_AUTH, methods=["POST"])
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or home_for_role(current_user.role))
    form = LoginForm()
    error, challenge, status = None, None, 200
    if form.validate_on_submit():
        email = form.email.data
        solved = challenge_solved(form.challenge_token.data, form.challenge_answer.data)
        if not solved and sign_in_check_needed(email, form.recaptcha_token.data):
            error, status = _("Please answer the security question below."), 403
        else:
            try:
                user = authenticate(email, form.password.data)
            except Unauthenticated as exc:
                record_failure(email)
                error, status = refusal_text(exc), 401
            else:
                clear_failures(email)
                session.clear()  # a fresh session at sign-in: no fixation
                login_user(SessionUser(user))
                check_consents_at_sign_in(user)  # SPEC §21: a new terms version is accepted first
                log.info("signed in", extra={"userId": str(user.id), "role": user.role})
                return redirect(next_url or home_for_role(user.role))
        if status == 403 or sign_in_check_needed(email, None):
            challenge = fresh_challenge()
    elif form.errors:
        status = 422
    return render_template("public/login.html", form=form, error=error, next_url=next_url, challenge=challenge,
                           site_key=recaptcha_site_key()), status


@public.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("public/logout.html")
    if current_user.is_authenticated:
        sign_out_everywhere(current_user.actor)  # the old cookie stops working, even replayed
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
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
        runtime.current().redis.ping()
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503
