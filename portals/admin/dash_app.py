"""The admin console (Dash at /admin/): seven sections (SPEC §9) under one date filter.

Overview: the eight KPI tiles (refreshed every 60 s, each definition in a tooltip), the alert
feed's top items, the funnel and bookings-per-day charts and the figures per day. Appointments,
Doctors, Patients, Payments: tables paged on the server. Alerts: the feed with calls to action.
Exports: every CSV. The period (today, yesterday, last 7 or 30 days, Europe/Paris) drives every
section. Callbacks read inputs, call core.metrics and return components — no SQL, no rule here.
"""

from __future__ import annotations

from datetime import timedelta

import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import Flask, has_request_context
from flask_login import current_user

from core import clock, heartbeats, runtime
from core.csv_export import as_file, write_csv
from core.errors import MalformedRequest
from core.i18n import N_
from core.metrics import alerts, kpis, listings
from core.metrics.periods import RANGE_NAMES, Period, period_for
from core.walkin import queue as walkin_queue
from portals.admin import actions_panel, doctors_panel, inbox_panel, reviews_panel, views
from portals.admin.api import failed_job_count
from portals.dash_frame import create_portal_dash, error_alert, loading_shell, portal_header
from portals.i18n import _, current_language

SECTIONS = [
    ("overview", "Overview"), ("appointments", "Appointments"), ("doctors", "Doctors"),
    ("patients", "Patients"), ("payments", "Payments"), ("alerts", "Alerts"), ("reviews", "Reviews"),
    ("inbox", "Inbox"), ("exports", "Exports"),
]
DEFAULT_RANGE = "week"
REFRESH_MS = 60_000
EXPORTS = [
    ("kpis", "KPI summary", "The eight KPIs of the period and of the previous one, with their definitions.",
     "/api/metrics/export.csv?range={range}"),
    ("daily", "Figures per day", "Booked, completed, no-shows, net revenue, paying accounts and new patients per day.",
     "/api/metrics/export.csv?range={range}&table=daily"),
    *[(key, listing.title, listing.description, None) for key, listing in listings.LISTINGS.items()],
    ("alerts", "Alerts", "The alert feed as it stands now.", "/api/metrics/alerts"),
]


def create_admin_dash(server: Flask) -> Dash:
    app = create_portal_dash(server, "admin", N_("Doktu — Admin console"))  # translated per request
    app.layout = admin_layout
    reviews_panel.register(app, lambda: current_user.actor)  # SPEC §18: approve or hide reviews
    doctors_panel.register(app, lambda: current_user.actor,  # SPEC §19
                           lambda: runtime.current().settings.public_base_url)
    inbox_panel.register(app, lambda: current_user.actor)  # issue 25: the support inbox
    actions_panel.register(app, lambda: current_user.actor)  # SPEC §22: an appointment's actions

    @app.callback(Output("admin-section", "children"), Output("admin-sidebar", "children"),
                  Input("admin-url", "pathname"))
    def show_section(pathname: str | None):
        key = section_key(pathname)
        return section_body(key), sidebar_links(key)

    @app.callback(Output("admin-range", "data"), Input({"type": "admin-range-option", "range": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def choose_range(clicks):
        if not isinstance(ctx.triggered_id, dict) or not any(clicks):
            return no_update
        return valid_range(ctx.triggered_id["range"])

    @app.callback(Output({"type": "admin-range-option", "range": ALL}, "aria-pressed"),
                  Input("admin-range", "data"))
    def show_range(range_name: str | None):
        chosen = valid_range(range_name)
        return ["true" if name == chosen else "false" for name in RANGE_NAMES]

    @app.callback(Output("admin-period", "children"), Input("admin-range", "data"),
                  Input("admin-tick", "n_intervals"))
    def describe_period(range_name: str | None, _tick):
        return period_text(current_period(range_name))

    @app.callback(Output({"type": "admin-kpi-value", "key": ALL}, "children"),
                  Output({"type": "admin-kpi-change", "key": ALL}, "children"),
                  Output({"type": "admin-kpi-change", "key": ALL}, "className"),
                  Output("admin-overview-alerts", "children"),
                  Output("admin-funnel-chart", "children"),
                  Output("admin-bookings-chart", "children"),
                  Output("admin-daily", "children"),
                  Output("admin-walkin", "children"),
                  Output("admin-updated", "children"),
                  Input("admin-range", "data"), Input("admin-tick", "n_intervals"),
                  Input("admin-overview-ready", "data"))
    def refresh_overview(range_name: str | None, _tick, _ready):
        return overview_outputs(valid_range(range_name))

    @app.callback(Output({"type": "admin-table", "view": MATCH}, "children"),
                  Output({"type": "admin-pager-status", "view": MATCH}, "children"),
                  Output({"type": "admin-prev", "view": MATCH}, "disabled"),
                  Output({"type": "admin-next", "view": MATCH}, "disabled"),
                  Output({"type": "admin-page", "view": MATCH}, "data"),
                  Input({"type": "admin-prev", "view": MATCH}, "n_clicks"),
                  Input({"type": "admin-next", "view": MATCH}, "n_clicks"),
                  Input("admin-range", "data"), Input({"type": "admin-query", "view": MATCH}, "data"),
                  Input("admin-act-done", "data"),
                  State({"type": "admin-page", "view": MATCH}, "data"))
    def show_page(_prev, _next, range_name: str | None, query: dict | None, _done, page: int | None):
        view = ctx.outputs_list[0]["id"]["view"]
        wanted = 1
        if isinstance(ctx.triggered_id, dict) and ctx.triggered_id["type"] in ("admin-prev", "admin-next"):
            step = -1 if ctx.triggered_id["type"] == "admin-prev" else 1
            wanted = (page if isinstance(page, int) else 1) + step
        elif ctx.triggered_id == "admin-act-done":
            wanted = page if isinstance(page, int) else 1
        return table_outputs(view, valid_range(range_name), wanted, query)

    @app.callback(Output({"type": "admin-query", "view": MATCH}, "data"),
                  Output({"type": "admin-status", "view": MATCH, "key": ALL}, "aria-pressed"),
                  Output({"type": "admin-sort", "view": MATCH, "key": ALL}, "aria-pressed"),
                  Input({"type": "admin-status", "view": MATCH, "key": ALL}, "n_clicks"),
                  Input({"type": "admin-sort", "view": MATCH, "key": ALL}, "n_clicks"),
                  Input({"type": "admin-search", "view": MATCH}, "value"),
                  State({"type": "admin-query", "view": MATCH}, "data"), prevent_initial_call=True)
    def change_query(_status_clicks, _sort_clicks, search: str | None, query: dict | None):
        query = dict(query) if isinstance(query, dict) else {}  # a forged store value counts as none
        trigger = ctx.triggered_id if isinstance(ctx.triggered_id, dict) else {}
        if trigger.get("type") == "admin-status":
            query["status"] = trigger.get("key")
        elif trigger.get("type") == "admin-sort":
            query["sort"] = trigger.get("key")
        query["search"] = search.strip() if isinstance(search, str) else ""
        statuses, sorts = _output_keys(ctx.outputs_list[1]), _output_keys(ctx.outputs_list[2])
        return (query, ["true" if k == query.get("status", "") else "false" for k in statuses],
                ["true" if k == query.get("sort") else "false" for k in sorts])

    @app.callback(Output("admin-alerts-table", "children"), Input("admin-tick", "n_intervals"),
                  Input("admin-alerts-ready", "data"))
    def show_alerts(_tick, _ready):
        # The full feed as a list: each alert names its doctors or consultations, with links to act.
        return views.alert_items(alerts.alert_feed(current_user.actor, failed_jobs=failed_job_count(),
                                                   language=current_language()))

    @app.callback(Output("admin-exports-table", "children"), Input("admin-range", "data"),
                  Input("admin-exports-ready", "data"))
    def show_exports(range_name: str | None, _ready):
        return exports_table(valid_range(range_name))

    @app.callback(Output({"type": "admin-download", "view": MATCH}, "data"),
                  Input({"type": "admin-csv", "view": MATCH}, "n_clicks"),
                  State("admin-range", "data"), prevent_initial_call=True)
    def download_csv(clicks, range_name: str | None):
        if not clicks:
            return no_update
        view = ctx.triggered_id["view"]
        return csv_download(view, valid_range(range_name))

    @app.callback(Output({"type": "admin-table-download", "view": MATCH}, "data"),
                  Input({"type": "admin-table-csv", "view": MATCH}, "n_clicks"),
                  State("admin-range", "data"), State({"type": "admin-query", "view": MATCH}, "data"),
                  prevent_initial_call=True)
    def download_table_csv(clicks, range_name: str | None, query: dict | None):
        # The rows on screen: the same search, status and sort as the table, every page of it.
        if not clicks:
            return no_update
        return csv_download(ctx.triggered_id["view"], valid_range(range_name), table_query(query))

    return app


def valid_range(range_name: str | None) -> str:
    return range_name if range_name in RANGE_NAMES else DEFAULT_RANGE


def current_period(range_name: str | None) -> Period:
    return period_for(valid_range(range_name), clock.now())


def period_text(period: Period) -> str:
    previous = period.previous()
    return _("%(label)s: %(days)s (Paris time), compared with %(previous)s.",
             label=range_labels().get(period.name, period.label), days=views.describe_period(period),
             previous=views.describe_period(previous))


def section_key(pathname: str | None) -> str:
    slug = (pathname or "").rstrip("/").rsplit("/", 1)[-1]
    return slug if slug in dict(SECTIONS) else "overview"


def section_labels() -> dict[str, str]:
    return {"overview": _("Overview"), "appointments": _("Appointments"), "doctors": _("Doctors"),
            "patients": _("Patients"), "payments": _("Payments"), "alerts": _("Alerts"), "reviews": _("Reviews"),
            "inbox": _("Inbox"), "exports": _("Exports")}


def sidebar_links(active: str, prefix: str = "admin-nav") -> list:
    # dcc.Link takes no aria-* keywords: the current section says so in visually hidden text.
    labels = section_labels()
    return [
        dcc.Link([labels[key], html.Span(_(" (current section)"), className="visually-hidden")]
                 if key == active else labels[key],
                 href=f"/admin/{key}", id=f"{prefix}-{key}", className="is-active" if key == active else None)
        for key, _label in SECTIONS
    ]



def section_body(key: str) -> list:
    if key == "overview":
        return overview_body()
    if key in listings.LISTINGS:
        listing = listings.LISTINGS[key]
        panel = [actions_panel.panel_frame()] if key == "appointments" else None
        body = views.table_view(key, views.listing_titles()[key], listing_descriptions()[key], listing=listing,
                                before_table=panel)
        return body + doctors_panel.onboarding_body() if key == "doctors" else body
    if key == "reviews":
        return reviews_panel.reviews_body()
    if key == "inbox":
        return inbox_panel.inbox_body()
    if key == "alerts":
        return [
            html.Div([html.H1(_("Alerts"), className="h3", id="admin-section-title"),
                      views.csv_button("alerts", _("Download CSV"))], className="admin-section-head"),
            html.P(_("What needs attention now, most severe first, each naming who or what it is about and what "
                     "to do. Alerts look at today and the last 7 and 30 days whatever the period chosen above; "
                     "refreshed every minute."), className="dk-muted"),
            html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-alerts-table"),
            dcc.Store(id="admin-alerts-ready", data=True),
            html.H2(_("Rules"), className="h5 admin-rules-title"),
            html.Ul([html.Li(definition) for _rule, definition in alerts.rule_definitions(current_language())],
                    className="admin-rules"),
        ]
    return [
        html.H1(_("Exports"), className="h3", id="admin-section-title"),
        html.P(_("CSV files of the period chosen above, ready for Excel (in French or German: separated by "
                 "semicolons, with decimal commas). Times in ISO 8601 UTC, money in cents. Analysts can fetch the "
                 "same with an admin token from the metrics API."), className="dk-muted"),
        html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-exports-table"),
        dcc.Store(id="admin-exports-ready", data=True),
    ]


def overview_body() -> list:
    return [
        html.Div([html.H1(_("Overview"), className="h3", id="admin-section-title"),
                  html.P("", id="admin-updated", className="dk-muted admin-updated")],
                 className="admin-section-head"),
        views.kpi_tiles(),
        views.walkin_tile(),
        dbc.Row([
            dbc.Col(html.Section([
                html.Div([html.H2(_("Alerts"), className="h5", id="admin-overview-alerts-title"),
                          dcc.Link(_("All alerts"), href="/admin/alerts", className="admin-more")],
                         className="admin-section-head"),
                html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-overview-alerts"),
            ], className="dk-card admin-card", **{"aria-labelledby": "admin-overview-alerts-title"}), lg=12),
        ], className="g-3 admin-row"),
        dbc.Row([
            dbc.Col(views.chart("admin-funnel-chart", _("The booking funnel of the period: people who reached "
                                                        "each step, from availability viewed to joined.")), lg=6),
            dbc.Col(views.chart("admin-bookings-chart", _("Bookings per day; the figures are in the table "
                                                          "below.")), lg=6),
        ], className="g-3 admin-row"),
        html.Section([
            html.Div([html.H2(_("Figures per day"), className="h5", id="admin-daily-title"),
                      views.csv_button("daily", _("Download CSV"))], className="admin-section-head"),
            html.Div(id="admin-daily"),
        ], className="dk-card admin-card admin-row", **{"aria-labelledby": "admin-daily-title"}),
        dcc.Store(id="admin-overview-ready", data=True),
    ]


def overview_outputs(range_name: str):
    actor = current_user.actor
    result = kpis.overview(actor, range_name)
    rows = result.kpis.to_dict("records")
    values = [views.format_value(r["unit"], r["value"]) for r in rows]
    changes = [views.tile_change(r, result.period) for r in rows]
    feed = alerts.alert_feed(actor, failed_jobs=failed_job_count(), language=current_language())
    funnel = kpis.funnel(actor, range_name)
    period = result.period
    window = period if period.days >= 7 else Period("context", period.last_day - timedelta(days=6), 7, period.tz)
    series = kpis.daily_series(actor, window)
    updated = (_("Figures as of %(time)s; refreshed every minute.",
                 time=result.generated_at.astimezone(period.tz).strftime("%H:%M:%S")) + " "
               + alerts.jobs_status_text(heartbeats.seconds_since_last_run(actor), current_language()))
    return (values, [c[0] for c in changes], [c[1] for c in changes], views.alert_items(feed, limit=3),
            views.funnel_chart(funnel.steps), views.bookings_chart(series, period),
            views.daily_table(series, period), views.walkin_figures(walkin_queue.queue_stats(actor)), updated)


def listing_descriptions() -> dict[str, str]:
    return {"appointments": _("Appointments starting in the period, latest first, with their payment. Open a "
                              "row's actions to refund, cancel, mark a no-show or resend a notice."),
            "doctors": _("Every doctor with their consultations starting in the period, busiest first."),
            "patients": _("Patients with an appointment starting in the period or who joined in it, most "
                          "appointments first."),
            "payments": _("Payments started in the period (card, local stand-in or credit; visits and plans), "
                          "latest first.")}


def _output_keys(outputs) -> list:
    """The `key` of each output an ALL pattern matched; a forged request's other shapes are refused
    (shown in the console's alert, nothing changed) rather than failing as a 500."""
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("id"), dict)
                                                and "key" in o["id"] for o in outputs):
        raise MalformedRequest()
    return [o["id"]["key"] for o in outputs]


def table_query(data) -> listings.Query:
    """A table's query store as a `listings.Query`; a forged value of the wrong type is absent."""
    data = data if isinstance(data, dict) else {}
    return listings.Query(**{key: value if isinstance(value := data.get(key), str) else ""
                             for key in ("search", "status", "sort")})


def table_outputs(view: str, range_name: str, page: int, query: dict | None = None):
    found = listings.page_of(current_user.actor, view, range_name, page, query=table_query(query))
    return (views.page_table(found), views.pager_status(found), found.page <= 1, found.page >= found.pages,
            found.page)


def exports_table(range_name: str) -> html.Div:
    rows = []
    words = export_words()
    for key, _title, _description, api in EXPORTS:
        title, description = words[key]
        api_cell = html.Code(api.format(range=range_name)) if api else html.Span("—", className="dk-muted")
        rows.append(html.Tr([html.Th(title, scope="row"), html.Td(description),
                             html.Td(views.csv_button(key, _("Download %(title)s CSV", title=title))),
                             html.Td(api_cell)]))
    return html.Div(html.Table([
        html.Caption(_("CSV exports, %(period)s", period=range_labels()[range_name].lower()),
                     className="visually-hidden"),
        html.Thead(html.Tr([html.Th(_("Export"), scope="col"), html.Th(_("Contents"), scope="col"),
                            html.Th(_("Download"), scope="col"), html.Th(_("API"), scope="col")])),
        html.Tbody(rows),
    ], className="dk-table admin-table", id="admin-exports"), className="admin-table-wrap", tabIndex="0",
        role="region", **{"aria-label": _("CSV exports")})


def export_words() -> dict[str, tuple[str, str]]:
    return {
        "kpis": (_("KPI summary"), _("The eight KPIs of the period and of the previous one, with their "
                                     "definitions.")),
        "daily": (_("Figures per day"), _("Booked, completed, no-shows, net revenue, paying accounts and new "
                                          "patients per day.")),
        "appointments": (_("Appointments"), listing_descriptions()["appointments"]),
        "doctors": (_("Doctors"), listing_descriptions()["doctors"]),
        "patients": (_("Patients"), listing_descriptions()["patients"]),
        "payments": (_("Payments"), listing_descriptions()["payments"]),
        "alerts": (_("Alerts"), _("The alert feed as it stands now.")),
    }


def range_labels() -> dict[str, str]:
    return {"today": _("Today"), "yesterday": _("Yesterday"), "week": _("Last 7 days"), "month": _("Last 30 days")}


def csv_download(view: str, range_name: str, query: listings.Query | None = None) -> dict:
    """The file a "Download CSV" button saves: UTF-8 with a BOM, in the admin's language's CSV style.
    `query`: a table's search, status and sort as on screen (the Exports view: the whole period)."""
    actor, language, headers = current_user.actor, current_language(), csv_headers()
    if view in ("kpis", "daily"):
        content = kpis.export_csv(actor, range_name, view, language=language, headers=headers)
    elif view == "alerts":
        feed = alerts.alert_feed(actor, failed_jobs=failed_job_count(), language=language)
        content = alerts_csv(feed, language=language, headers=headers)
    else:
        content = listings.listing_csv(actor, view, range_name, language=language, headers=headers, query=query)
    stamp = clock.now().astimezone(current_period(range_name).tz).strftime("%Y-%m-%d")
    return {"content": as_file(content), "filename": f"doktu-{view}-{range_name}-{stamp}.csv", "type": "text/csv"}


def csv_headers() -> dict[str, str]:
    """The console's CSV column names in the admin's language (README "Exports"): a founder opens the
    file in Excel, where `start_at` or `price_cents` mean little. The cells stay data — ISO 8601 UTC
    times, cents, ids and codes — so the header says the unit. In English the keys stay (`start_at`,
    `amount_cents`: English words already, the same file the metrics API gives, which scripts read)."""
    if current_language() == "en":
        return {}
    return {
        "id": _("Id"), "range": _("Period"), "from": _("From (UTC)"), "to": _("To (UTC)"),
        "previous_from": _("Previous from (UTC)"), "previous_to": _("Previous to (UTC)"), "kpi": _("KPI"),
        "label": _("Name"), "unit": _("Unit"), "value": _("Value"), "previous": _("Previous value"),
        "change": _("Change"), "definition": _("Definition"), "day": _("Day"), "booked": _("Booked"),
        "completed": _("Completed"), "no_show": _("No-shows"), "net_revenue_cents": _("Net revenue (cents)"),
        "paying_accounts": _("Paying accounts"), "new_patients": _("New patients"),
        "start_at": _("Start (UTC)"), "doctor": _("Doctor"), "patient": _("Patient"), "status": _("Status"),
        "price_cents": _("Price (cents)"), "payment_status": _("Payment"), "payment_provider": _("Paid by"),
        "booked_at": _("Booked at (UTC)"), "specialty": _("Specialty"), "online": _("Online"),
        "cancelled": _("Cancelled"), "rating": _("Rating"), "joined_at": _("Joined (UTC)"),
        "appointments": _("Appointments"), "paid_cents": _("Paid, net (cents)"), "created_at": _("Time (UTC)"),
        "account": _("Account"), "kind": _("Kind"), "provider": _("Provider"), "amount_cents": _("Amount (cents)"),
        "refunded_cents": _("Refunded (cents)"), "failure_code": _("Failure"), "severity": _("Severity"),
        "code": _("Code"), "title": _("Alert"), "detail": _("Detail"), "action": _("What to do"),
        "action_href": _("Link"),
    }


ALERT_COLUMNS = ["severity", "code", "title", "detail", "action", "action_href"]


def alerts_csv(found: list, *, language: str | None = None, headers: dict[str, str] | None = None) -> str:
    return write_csv([(headers or {}).get(c, c) for c in ALERT_COLUMNS],
                     [[a.severity, a.code, a.title, a.detail, a.action, a.action_href or ""] for a in found],
                     language=language)


def range_filter() -> html.Div:
    """Four toggle buttons (one pressed) in a labelled group; the choice lives in a session store.
    Dash's RadioItems renders role=listbox/option around focusable inputs, which axe refuses."""
    return html.Div([
        html.Span(_("Period"), id="admin-filter-label", className="admin-filter__legend"),
        html.Div([html.Button(range_labels()[name], id={"type": "admin-range-option", "range": name}, type="button",
                              className="admin-filter__option", **{"aria-pressed": "false", "data-range": name})
                  for name in RANGE_NAMES], className="admin-filter__options"),
        dcc.Store(id="admin-range", storage_type="session", data=DEFAULT_RANGE),
    ], className="admin-filter", role="group", **{"aria-labelledby": "admin-filter-label"})


def admin_layout():
    if not has_request_context() or not current_user.is_authenticated:
        return loading_shell()
    return html.Div([
        dcc.Location(id="admin-url"),
        dcc.Interval(id="admin-tick", interval=REFRESH_MS),
        dcc.Store(id="admin-act-done", data=0),  # bumped by each action: the open table shows its effect
        portal_header(_("Admin console"), current_user.user.full_name, also_controls=("admin-sidebar",)),
        dbc.Row([
            dbc.Col(html.Nav(sidebar_links("overview"), id="admin-sidebar", className="dk-sidebar",
                             **{"aria-label": _("Admin sections")}), md=3, lg=2, className="admin-sidebar-col"),
            dbc.Col(html.Main([
                html.Div([range_filter(), html.P(period_text(current_period(DEFAULT_RANGE)), id="admin-period",
                                                 className="dk-muted admin-period", role="status",
                                                 **{"aria-live": "polite"})],
                         className="admin-toolbar"),
                error_alert("admin"),  # what a callback's unhandled refusal says (dash_frame.show_refusal)
                # Filled by show_section from the URL (so the overview is not computed twice on load).
                html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-section"),
            ], id="main", className="dk-portal-main", tabIndex="-1"), md=9, lg=10),
        ], className="g-0"),
    ])
