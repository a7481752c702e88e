"""The page frame both Dash portals share with the Jinja pages: same tokens, header, sign-out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, dcc, html
from flask import Flask
from flask_wtf.csrf import generate_csrf

from portals.assets import asset_url

STYLESHEETS = [asset_url("vendor/bootstrap-5.3.9.min.css"), asset_url("css/doktu.css")]

# Dash's default index has <html> without lang (axe: html-has-lang).
INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
  <head>
    {%metas%}
    <title>{%title%}</title>
    {%favicon%}
    {%css%}
  </head>
  <body>
    <a class="dk-skip" href="#main">Skip to main content</a>
    {%app_entry%}
    <footer>{%config%}{%scripts%}{%renderer%}</footer>
  </body>
</html>"""


def create_portal_dash(server: Flask, name: str, title: str, *, on_error: Callable[[Exception], Any] | None = None,
                       scripts: list[str] | None = None) -> Dash:
    """A Dash app mounted at /<name>/ on the Flask server; callbacks go on `app.callback` only.
    `scripts`: our own static scripts (same origin, cache-busted URLs) the portal needs."""
    app = Dash(
        name,
        on_error=on_error,
        external_scripts=[{"src": src, "defer": "defer"} for src in scripts or []],
        server=False,
        url_base_pathname=f"/{name}/",
        title=title,
        external_stylesheets=STYLESHEETS,
        serve_locally=True,
        compress=False,
        suppress_callback_exceptions=True,
        assets_folder=f"{name}_assets",  # none yet; keeps each portal's assets separate
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        update_title=None,
    )
    app.index_string = INDEX_STRING
    app.init_app(server)
    return app


def sign_out_form() -> html.Form:
    return html.Form(
        [
            # dash.html has no Input element; dcc.Input renders a plain <input type="hidden">.
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Button("Sign out", type="submit", className="dk-btn dk-btn--ghost"),
        ],
        action="/logout",
        method="POST",
    )


def portal_header(portal_label: str, user_name: str, extra: list | None = None) -> html.Header:
    return html.Header(
        html.Div(
            [
                html.A("Doktu", href="/", className="dk-logo", **{"aria-label": "Doktu home"}),
                html.Span(portal_label, className="dk-chip"),
                html.Nav(
                    [*(extra or []), html.Span(user_name, className="dk-muted"), sign_out_form()],
                    className="dk-nav",
                    **{"aria-label": "Account"},
                ),
            ],
            className="dk-header__inner",
        ),
        className="dk-portal-header",
    )


def loading_shell() -> html.Div:
    """What Dash's one layout call at start-up (outside a request) gets."""
    return html.Div(dbc.Spinner(), id="main")
