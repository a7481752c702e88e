"""The admin console (Dash at /admin/): frame and the seven sections of SPEC §9."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html
from flask import Flask, has_request_context
from flask_login import current_user

from portals.dash_frame import create_portal_dash, loading_shell, portal_header

SECTIONS = [
    ("overview", "Overview"), ("appointments", "Appointments"), ("doctors", "Doctors"),
    ("patients", "Patients"), ("payments", "Payments"), ("alerts", "Alerts"), ("exports", "Exports"),
]


def create_admin_dash(server: Flask) -> Dash:
    app = create_portal_dash(server, "admin", "Doktu — Admin console")
    app.layout = admin_layout

    @app.callback(Output("admin-section", "children"), Output("admin-sidebar", "children"),
                  Input("admin-url", "pathname"))
    def show_section(pathname: str | None):
        key = section_key(pathname)
        return section_body(key), sidebar_links(key)

    return app


def section_key(pathname: str | None) -> str:
    slug = (pathname or "").rstrip("/").rsplit("/", 1)[-1]
    return slug if slug in dict(SECTIONS) else "overview"


def sidebar_links(active: str) -> list:
    # dcc.Link takes no aria-* keywords: the current section says so in visually hidden text.
    return [
        dcc.Link([label, html.Span(" (current section)", className="visually-hidden")]
                 if key == active else label,
                 href=f"/admin/{key}", id=f"admin-nav-{key}", className="is-active" if key == active else None)
        for key, label in SECTIONS
    ]


def section_body(key: str) -> list:
    title = dict(SECTIONS)[key]
    return [html.H1(title, className="h3", id="admin-section-title"),
            html.P("This section fills in with the analytics issue.", className="dk-muted")]


def admin_layout():
    if not has_request_context() or not current_user.is_authenticated:
        return loading_shell()
    return html.Div([
        dcc.Location(id="admin-url"),
        portal_header("Admin console", current_user.user.full_name),
        dbc.Row([
            dbc.Col(html.Nav(sidebar_links("overview"), id="admin-sidebar", className="dk-sidebar",
                             **{"aria-label": "Admin sections"}), md=3, lg=2),
            dbc.Col(html.Main(html.Div(section_body("overview"), id="admin-section"),
                              id="main", className="dk-portal-main", tabIndex="-1"), md=9, lg=10),
        ], className="g-0"),
    ])
