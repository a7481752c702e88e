"""Patient portal: the dashboard and booking pages (SPEC §9)."""

from flask import Blueprint

patient = Blueprint("patient", __name__)

from portals.patient import api, appointment_changes, dashboard, pages, payments, settings, video  # noqa: E402,F401
