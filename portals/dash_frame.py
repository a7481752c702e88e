"""The page frame both Dash portals share with the Jinja pages: same tokens, header, sign-out."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, dcc, html, set_props
from dash.exceptions import CallbackException
from flask import Flask, has_request_context, request
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, ConfigDict, ValidationError

from core import i18n
from core.errors import DomainError, MalformedRequest
from core.i18n import N_
from portals.assets import asset_url
from portals.i18n import _, current_language, refusal_text

STYLESHEETS = [asset_url("vendor/bootstrap-5.3.9.min.css"), asset_url("css/doktu.css")]
SHELL_SCRIPT = asset_url("js/portal-shell.js")  # the header's menu on phones, in both portals

# Dash's default index has <html> without lang (axe: html-has-lang), and its favicon is Dash's own
# 16 KB uncompressed .ico: ours is a 200-byte SVG from our origin (SPEC §22 "Weight").
INDEX_STRING = """<!DOCTYPE html>
<html lang="{%lang%}">
  <head>
    {%metas%}
    <title>{%title%}</title>
    <link rel="icon" type="image/svg+xml" href="{favicon}">
    {%css%}
  </head>
  <body>
    <a class="dk-skip" href="#main">{%skip%}</a>
    {%app_entry%}
    <footer>{%config%}{%scripts%}{%renderer%}</footer>
  </body>
</html>"""


def error_alert(name: str) -> dbc.Alert:
    """Where a portal says what `show_refusal` caught: put it once in the portal's layout."""
    return dbc.Alert(id=f"{name}-alert", is_open=False, dismissable=True, color="danger", className="mb-3")


def show_refusal(name: str) -> Callable[[Exception], Any]:
    """The one error path of the Dash portals (Dash's `on_error`): a refusal a callback did not
    handle itself (the database briefly away, a rule it did not expect) is shown in the portal's
    `error_alert` and changes nothing else; anything else is a bug and raises (500, logged)."""

    def on_error(error: Exception):
        if isinstance(error, DomainError):
            set_props(f"{name}-alert", {"children": refusal_text(error), "is_open": True})
            return None
        raise error

    return on_error


UNUSED_BUNDLES = ("/dash/dash_table/",)  # no portal uses dash_table's DataTable (SPEC §22 "Weight")
# Dash loads Babel's whole polyfill (core-js 2 + regenerator, 34 KB brotli) before React. What its
# bundles (renderer, dcc, dash-bootstrap-components) use of it is `regeneratorRuntime`: their
# async functions were compiled to generators; everything else it polyfills (Promise, Symbol,
# Object.assign…) every browser the portals support has. So the portals get regenerator-runtime
# alone (npm, MIT; 3 KB brotli), in the polyfill's place, before the bundles that call it.
POLYFILL_BUNDLE = "/dash/deps/polyfill@"
REGENERATOR = asset_url("vendor/regenerator-runtime-0.14.1.min.js")


def without_unused_bundles(app: Dash) -> None:
    """Drop the script tags Dash always writes for component libraries the portals do not use
    (its DataTable loader), and load regenerator-runtime instead of the whole Babel polyfill:
    less to download on the first load."""
    generate = app._generate_scripts_html

    def script_line(line: str) -> str:
        return f'<script src="{REGENERATOR}"></script>' if POLYFILL_BUNDLE in line else line

    def scripts_html() -> str:
        return "\n".join(script_line(line) for line in generate().split("\n")
                         if not any(bundle in line for bundle in UNUSED_BUNDLES))

    app._generate_scripts_html = scripts_html


def create_portal_dash(server: Flask, name: str, title: str, *, scripts: list[str] | None = None) -> Dash:
    """A Dash app mounted at /<name>/ on the Flask server; callbacks go on `app.callback` only, and
    a refusal they leave unhandled shows in the layout's `error_alert(name)` (`show_refusal`).
    `scripts`: our own static scripts (same origin, cache-busted URLs) the portal needs."""
    app = Dash(
        name,
        on_error=show_refusal(name),
        external_scripts=[{"src": src, "defer": "defer"} for src in [SHELL_SCRIPT, *(scripts or [])]],
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
    app.index_string = INDEX_STRING.replace("{favicon}", asset_url("favicon.svg"))
    without_unused_bundles(app)
    _localise_index(app)
    app.init_app(server)
    guard_callback_bodies(server, app)
    server.extensions.setdefault("dash_apps", {})[name] = app
    return app


def _localise_index(app: Dash) -> None:
    """`<html lang>` and the skip link in the visitor's language (SPEC §20): Dash builds the index page
    on every request, so it is filled in here rather than frozen in `index_string`."""
    interpolate = app.interpolate_index

    def localised(**kwargs) -> str:
        if kwargs.get("title"):  # the tab's title: a catalog entry when the portal marked it N_
            kwargs["title"] = _(kwargs["title"])
        page = interpolate(**kwargs)
        return page.replace("{%lang%}", current_language(), 1).replace("{%skip%}", _("Skip to main content"), 1)

    app.interpolate_index = localised


class _Prop(BaseModel):
    """One component property in a callback request: `{"id", "property", "value"?}`."""

    model_config = ConfigDict(extra="allow")
    id: str | dict[str, Any]
    property: str


_Props = list[_Prop | list[_Prop]]


class _CallbackBody(BaseModel):
    """What Dash's renderer posts to `_dash-update-component` (the parts Dash itself reads)."""

    model_config = ConfigDict(extra="allow")
    output: str
    outputs: _Prop | list[_Prop | list[_Prop]] = []
    inputs: _Props = []
    state: _Props = []
    changedPropIds: list[str] = []


# What the renderer sends for these properties, whatever the component: anything else is forged.
_PROP_TYPES: dict[str, tuple[type, ...]] = {
    "n_clicks": (int,), "n_intervals": (int,), "n_submit": (int,), "n_blur": (int,),
    "is_open": (bool,), "hidden": (bool,), "disabled": (bool,),
    "pathname": (str,), "search": (str,), "hash": (str,), "href": (str,),
}
_SCALARS = (str, int, float, bool)


def _forged(body: _CallbackBody) -> bool:
    """A pattern-matching id whose values are not scalars (the wildcards live only in the callback
    definitions, never in a request), or a counter or flag of the wrong type."""
    props: list[_Prop] = []
    for group in ([body.outputs] if isinstance(body.outputs, _Prop) else body.outputs, body.inputs, body.state):
        for item in group:
            props.extend(item if isinstance(item, list) else [item])
    for prop in props:
        if isinstance(prop.id, dict) and not all(isinstance(v, _SCALARS) for v in prop.id.values()):
            return True
        value = (prop.model_extra or {}).get("value")
        expected = _PROP_TYPES.get(prop.property)
        if value is not None and expected and (not isinstance(value, expected) or
                                               (isinstance(value, bool) and bool not in expected)):
            return True
    for changed in body.changedPropIds:
        ident = changed.rpartition(".")[0]
        if ident.startswith("{"):
            try:
                parsed = json.loads(ident)
            except ValueError:
                return True
            if not isinstance(parsed, dict) or not all(isinstance(v, _SCALARS) for v in parsed.values()):
                return True
    return False


def guard_callback_bodies(server: Flask, app: Dash) -> None:
    """A forged or garbled callback request (wrong shape, unknown callback, inputs that do not
    match the callback's definition) is a 400 ERR_BAD_REQUEST, not a crash inside Dash. Wraps
    Dash's dispatch view, so the portal guards (401/403) still answer first."""
    endpoint = app.config.requests_pathname_prefix + "_dash-update-component"
    dispatch = server.view_functions[endpoint]

    @wraps(dispatch)
    def checked_dispatch(*args, **kwargs):
        try:
            body = _CallbackBody.model_validate(request.get_json(silent=True))
        except ValidationError:
            raise MalformedRequest(N_("This is not a Dash callback request.")) from None
        spec = app.callback_map.get(body.output)
        # A clientside callback is in the map too, but has no server function to run.
        if spec is None or "callback" not in spec or len(body.inputs) != len(spec["inputs"]) \
                or len(body.state) != len(spec["state"]) or _forged(body):
            raise MalformedRequest(N_("This callback request does not match the portal's callbacks."))
        try:
            return dispatch(*args, **kwargs)
        except CallbackException as exc:
            if type(exc) is CallbackException:  # Dash's own check of outputs/inputs against the definition
                raise MalformedRequest(N_("This callback request does not match the portal's callbacks.")) from None
            raise

    server.view_functions[endpoint] = checked_dispatch


def sign_out_form() -> html.Form:
    return html.Form(
        [
            # dash.html has no Input element; dcc.Input renders a plain <input type="hidden">.
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Button(_("Sign out"), type="submit", className="dk-btn dk-btn--ghost"),
        ],
        action="/logout",
        method="POST",
    )


def language_switch_form(place: str = "portal") -> html.Form:
    """The language switch of the Jinja pages (`_language_switch.html`), for the portals' headers:
    a POST form to /language that comes back to this page. js/portal-shell.js applies a new choice
    as soon as it is made, as site.js does on the public pages, so the button stays hidden (a Dash
    page runs only with scripts); it keeps the portal header on one line on a wide screen."""
    language = current_language()
    back = _portal_page() if has_request_context() else None
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            dcc.Input(type="hidden", name="next", value=back or "/"),
            html.Label(_("Language"), htmlFor=f"dk-lang-{place}", className="visually-hidden"),
            html.Select(
                [html.Option(i18n.language_name(code), value=code, lang=code, selected=code == language)
                 for code in i18n.LANGUAGES],
                id=f"dk-lang-{place}", name="language", className="dk-lang__select",
                **{"data-dk-lang-select": ""},
            ),
            html.Button(_("Change language"), type="submit", className="dk-btn dk-btn--ghost dk-lang__apply"),
        ],
        action="/language",
        method="POST",
        className=f"dk-lang dk-lang--{place}",
    )


def _portal_page() -> str | None:
    """The page a language switch comes back to. Dash builds the header in its layout request
    (`/<portal>/_dash-layout`), not in the page's own: that gives the portal's home, which
    js/portal-shell.js refines to the exact page (a sub-page, its query) when the switch is used."""
    if request.method != "GET":
        return None
    if request.path.endswith("/_dash-layout"):
        return request.path.removesuffix("_dash-layout")
    return request.full_path.rstrip("?")


MENU_ID = "portal-menu"


def portal_header(portal_label: str, user_name: str, extra: list | None = None, *,
                  also_controls: tuple[str, ...] = ()) -> html.Header:
    """The one header of both portals, the public site's pattern (issue 24): logo, the portal's
    name, then the account items and the language switch; on a phone (< 768 px) the items fold
    behind a "Menu" button (js/portal-shell.js opens it), with whatever `also_controls` names
    (the admin's sections)."""
    return html.Header(
        html.Div(
            [
                html.A("Doktu", href="/", className="dk-logo", **{"aria-label": _("Doktu home")}),
                html.Span(portal_label, className="dk-chip"),
                html.Button(
                    [html.Span(className="dk-menu-toggle__bars", **{"aria-hidden": "true"}),
                     html.Span(_("Menu"), className="dk-menu-toggle__label")],
                    type="button", className="dk-menu-toggle", id="portal-menu-toggle",
                    **{"aria-expanded": "false", "aria-controls": " ".join((MENU_ID, *also_controls)),
                       "data-dk-portal-menu": "true"},
                ),
                html.Nav(
                    [*(extra or []), html.Span(user_name, className="dk-muted dk-portal-user"), language_switch_form(),
                     sign_out_form()],
                    className="dk-nav", id=MENU_ID,
                    **{"aria-label": _("Account")},
                ),
            ],
            className="dk-header__inner",
        ),
        className="dk-portal-header",
    )


def loading_shell() -> html.Div:
    """What Dash's one layout call at start-up (outside a request) gets."""
    return html.Div(dbc.Spinner(), id="main")
