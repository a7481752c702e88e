"""Patient pages."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import render_template
from flask_login import current_user

from core.booking.queries import list_appointments
from portals.auth import require_role
from portals.patient import patient

DEFAULT_TZ = "Europe/Paris"


@patient.get("/dashboard")
@require_role("patient")
def dashboard():
    tz = ZoneInfo(DEFAULT_TZ)
    appointments = [
        {"start_local": a.start_at.astimezone(tz).strftime("%a %d %b %Y, %H:%M"),
         "doctor_name": a.doctor_name, "status": a.status}
        for a in list_appointments(current_user.actor)
    ]
    return render_template("patient/dashboard.html", appointments=appointments, timezone=DEFAULT_TZ)
