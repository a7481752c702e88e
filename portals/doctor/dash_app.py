"""The doctor portal (Dash at /doctor/): frame, upcoming consultations. SPEC §4, §9."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import Dash, html
from flask import Flask, has_request_context
from flask_login import current_user

from core.booking.queries import list_appointments
from core.clock import now
from portals.dash_frame import create_portal_dash, loading_shell, portal_header

DOCTOR_TZ = "Europe/Paris"


def create_doctor_dash(server: Flask) -> Dash:
    app = create_portal_dash(server, "doctor", "Doktu — Doctor portal")
    app.layout = doctor_layout
    return app


def doctor_layout():
    if not has_request_context() or not current_user.is_authenticated:
        return loading_shell()
    tz = ZoneInfo(DOCTOR_TZ)
    upcoming = [a for a in list_appointments(current_user.actor) if a.end_at >= now()][:5]
    return html.Div([
        portal_header("Doctor portal", current_user.user.full_name,
                      [html.Span(f"Time zone: {DOCTOR_TZ}", className="dk-muted", id="doctor-tz")]),
        html.Main(
            dbc.Row([
                dbc.Col(html.Section([
                    html.H1("Upcoming consultations", className="h3", id="doctor-upcoming-title"),
                    upcoming_table(upcoming, tz) if upcoming else html.P(
                        "No upcoming consultations.", className="dk-muted", id="doctor-upcoming-empty"),
                ], className="dk-card", **{"aria-labelledby": "doctor-upcoming-title"}), lg=8),
                dbc.Col(html.Section([
                    html.H2("Quick actions", className="h4"),
                    html.P("Availability, patient records and device tests live here.",
                           className="dk-muted"),
                ], className="dk-card"), lg=4),
            ], className="g-3"),
            id="main", className="dk-portal-main", tabIndex="-1",
        ),
    ])


def upcoming_table(rows, tz: ZoneInfo) -> html.Table:
    return html.Table([
        html.Caption("Your next five appointments", className="visually-hidden"),
        html.Thead(html.Tr([html.Th("When", scope="col"), html.Th("Status", scope="col")])),
        html.Tbody([
            html.Tr([html.Td(a.start_at.astimezone(tz).strftime("%a %d %b, %H:%M")),
                     html.Td(html.Span(a.status, className="dk-chip"))])
            for a in rows
        ]),
    ], className="dk-table", id="doctor-upcoming")
