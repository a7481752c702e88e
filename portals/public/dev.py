"""Developer pages, served only in development (404 anywhere else), and only to an admin: the
outbox holds every password-reset link, so a development server reachable by others must not show
it to them (issue 23)."""

from __future__ import annotations

from flask import abort, render_template

from core import runtime
from core.notify.outbox import recent_messages
from portals.auth import require_role
from portals.public import public


def _development_only() -> None:
    if runtime.current().settings.env != "development":
        abort(404)


@public.get("/dev/outbox")
def dev_outbox():
    """Every email and SMS the app sent or would have sent, newest first (admins; sign-in first)."""
    _development_only()
    return _admin_outbox()


@require_role("admin")
def _admin_outbox():
    return render_template("public/dev_outbox.html", messages=recent_messages())
