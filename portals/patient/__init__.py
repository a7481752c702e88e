"""Patient portal: the dashboard and booking pages (SPEC §9)."""

from flask import Blueprint

patient = Blueprint("patient", __name__)

from portals.patient import (  # noqa: E402,F401
    api,
    appointment_changes,
    dashboard,
    documents,
    messages,
    pages,
    payments,
    privacy,
    settings,
    video,
    visits,
    waitlist,
    walkin,
)
