"""Developer pages, served only in development (404 anywhere else)."""

from __future__ import annotations

from flask import abort, render_template

from core.notify.outbox import recent_messages
from portals.public import public
from portals.state import state


@public.get("/dev/outbox")
def dev_outbox():
    """Every email and SMS the app sent or would have sent, newest first."""
    if state().settings.env != "development":
        abort(404)
    return render_template("public/dev_outbox.html", messages=recent_messages())
