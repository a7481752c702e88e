"""The consent gate (SPEC §21): after a sign-in, a user who has not accepted the current version of
the terms or the privacy notice is sent to `/account/consents` before anything else (the guard is
in `portals.patient.privacy`). Kept apart so the login page can call it without importing a portal."""

from __future__ import annotations

from flask import session

from core.privacy import consents

CONSENT_DUE = "consent_due"  # in the session: new versions must be accepted


def check_consents_at_sign_in(user) -> None:
    """Right after a sign-in: remember whether new versions must be accepted first."""
    if consents.consent_state(user.actor).outdated:
        session[CONSENT_DUE] = True
