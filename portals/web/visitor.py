"""The visitor's time zone: times are shown in the viewer's own zone, 24 h (SPEC §3).

The browser reports its zone in the `doktu_tz` cookie (set by site.js); until it has, pages use
Europe/Paris and site.js re-labels the <time> elements in place, so the first paint needs no script.

A signed-in user who chose a zone in Settings (`users.timezone`) sees that zone instead, on every
device: it comes with the session user (`app_session_user()`, already loaded for the request), so
it costs no query. The `doktu_tz_saved` cookie tells site.js to re-label in that zone too.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, g, has_request_context, request, session
from flask_login import current_user

from core import i18n, timezones
from portals.i18n import current_language

log = logging.getLogger(__name__)

DEFAULT_ZONE = "Europe/Paris"
COOKIE = "doktu_tz"
SAVED_COOKIE = "doktu_tz_saved"  # the signed-in user's chosen zone, for site.js (not HttpOnly)


def saved_zone() -> str | None:
    """The zone the signed-in user chose, or None (none chosen, or nobody signed in)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return _user_zone(current_user)


def device_zone() -> str | None:
    """The zone the browser reported (the `doktu_tz` cookie), if it is a real one."""
    name = request.cookies.get(COOKIE, "") if has_request_context() else ""
    return name if timezones.is_known(name) else None


def visitor_zone() -> ZoneInfo:
    """The zone to show times in: the user's saved zone, else the device's, else Europe/Paris."""
    return ZoneInfo(saved_zone() or device_zone() or DEFAULT_ZONE)


def _user_zone(session_user) -> str | None:
    name = getattr(getattr(session_user, "user", None), "timezone", None)
    return name if timezones.is_known(name) else None


def sync_saved_zone_cookie(response: Response) -> Response:
    """Keep `doktu_tz_saved` equal to the signed-in user's saved zone (absent otherwise), so the
    times site.js re-labels agree with the server's. Only when the request loaded the user anyway
    (pages do, static files do not): never a query of its own."""
    loaded = g.get("_login_user")  # Flask-Login's per-request cache of current_user
    if loaded is None or getattr(loaded, "via_token", False):
        return response  # a bearer token's client is not a browser running site.js
    saved = _user_zone(loaded) if loaded.is_authenticated else None
    if saved and request.cookies.get(SAVED_COOKIE) != saved:
        response.set_cookie(SAVED_COOKIE, saved, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure)
    elif not saved and SAVED_COOKIE in request.cookies:
        response.delete_cookie(SAVED_COOKIE, samesite="Lax", secure=request.is_secure)
    return response


def remember_device_zone(response: Response) -> Response:
    """A signed-in user's browser reported another zone than the one on the account: keep it for the
    emails and SMS (SPEC §20). Only when the request loaded the user anyway, and only on a change, so
    a page costs no extra query in the usual case."""
    loaded = g.get("_login_user")
    if loaded is None or not loaded.is_authenticated or request.method != "GET":
        return response
    reported = device_zone()
    user = getattr(loaded, "user", None)
    if reported and user is not None and getattr(user, "device_zone", None) != reported:
        from core.accounts.settings import remember_device_zone as remember

        try:
            remember(loaded.actor, reported)
        except Exception:  # a page never fails for this; the next page tries again
            log.warning("could not remember the device zone", exc_info=True)
    return response


def clock_time(moment: datetime) -> str:
    """14:45 in the visitor's zone (24 h in every language, SPEC §3)."""
    return i18n.format_time(moment.astimezone(visitor_zone()), current_language())


def day_label(moment: datetime) -> str:
    """Tue / mar. / Di. in the visitor's zone: pills name the weekday; their labels give the full date."""
    return i18n.format_date(moment.astimezone(visitor_zone()).date(), current_language(), "EEE")


def long_moment(moment: datetime) -> str:
    """Tuesday 3 March 2026 at 14:45 (Europe/Paris) / mardi 3 mars 2026 à 14:45 (Europe/Paris), for
    summaries and screen readers (SPEC §20: Babel's words for the visitor's language)."""
    local = moment.astimezone(visitor_zone())
    return i18n.format_moment(local, local.tzinfo, current_language())


def visitor_id() -> str:
    """A random id for the funnel, kept in the session cookie we set anyway (no extra cookie)."""
    if "vid" not in session:
        session["vid"] = secrets.token_hex(8)
    return session["vid"]
