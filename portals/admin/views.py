"""Components of the admin console: KPI tiles, tables with a pager, charts, the alert list.

Presentation only: values come from core.metrics; here they are formatted for people (times in
Europe/Paris, euros, percentages) and laid out accessibly (captions, header scopes, labelled
buttons, a live region for the pager).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from core.metrics.alerts import Alert
from core.metrics.definitions import KPIS, format_change, format_value
from core.metrics.listings import Page
from core.metrics.periods import PARIS, Period
from portals.i18n import _

SEVERITY_LABELS = {"critical": "Critical", "warning": "Warning", "info": "Info"}


# ---- tiles ----

def kpi_labels() -> dict[str, str]:
    return {"booked": _("Booked"), "completed": _("Completed"), "noShowRate": _("No-show %"), "arpa": _("ARPA"),
            "appointmentsPerPatient": _("Appointments per patient"), "doctorUtilisation": _("Doctor utilisation"),
            "bookingConversion": _("Booking conversion"), "newPatients": _("New patients")}


def kpi_help() -> dict[str, str]:
    """What each tile means, in the founders' words (the precise definitions, with their column and
    event names, are in the API's `definition` and the README)."""
    return {
        "booked": _("Consultations paid for in the period (by card or with credit), counted when the payment "
                    "went through, not when the consultation takes place. A booking later cancelled still "
                    "counts."),
        "completed": _("Consultations the doctor marked completed, among those starting in the period."),
        "noShowRate": _("Share of ended consultations where the patient did not come: no-shows ÷ (completed + "
                        "no-shows), by start time. Cancelled and upcoming ones are left out."),
        "arpa": _("Average revenue per paying account: card payments of the period (consultations and plans), "
                  "less refunds, divided by the number of accounts that paid. Consultations paid with credit "
                  "are not counted twice."),
        "appointmentsPerPatient": _("Consultations booked in the period ÷ the patients who booked them."),
        "doctorUtilisation": _("Booked time ÷ the time doctors offered, for consultations starting in the "
                               "period. Offered time is each doctor's open slots, or their usual weekly hours."),
        "bookingConversion": _("Of the people who picked a time in the period, the share who paid for it "
                               "(whenever they paid). Never above 100 %."),
        "newPatients": _("Patient accounts created in the period."),
    }


def kpi_tiles() -> html.Div:
    """The eight tiles; their figures are filled in (and refreshed every 60 s) by a callback, so
    a tile keeps its focus and tooltip across refreshes."""
    labels, helps = kpi_labels(), kpi_help()
    return html.Div([kpi_tile(k.key, labels[k.key], helps[k.key]) for k in KPIS], id="admin-tiles",
                    className="admin-tiles")


def walkin_tile() -> html.Section:
    """See a doctor now (SPEC §17): the queue's length and waits, filled in by the overview refresh."""
    return html.Section([
        html.H2("See a doctor now", className="admin-tile__label", id="admin-walkin-title"),
        html.Div(html.P("…", className="dk-muted"), id="admin-walkin", role="status"),
    ], className="admin-tile admin-walkin", **{"aria-labelledby": "admin-walkin-title"})


def walkin_figures(stats) -> list:
    """"2 waiting · longest 6 min · 1 over 15 min · 3 doctors taking · usual wait 4 min"."""
    longest = f"{stats.longest_wait_seconds // 60} min" if stats.waiting else "—"
    usual = f"about {stats.usual_wait} min" if stats.usual_wait else "—"
    over = html.Strong(f"{stats.over_max_wait} over {stats.max_wait_minutes} min", className="admin-walkin__over") \
        if stats.over_max_wait else f"none over {stats.max_wait_minutes} min"
    return [html.P(f"{stats.waiting} waiting", className="admin-tile__value", id="admin-walkin-waiting"),
            html.P([f"Longest wait {longest} · ", over, f" · {stats.doctors_taking} doctors taking consultations"
                    f" · usual wait (7 days) {usual}"], className="admin-tile__change")]


def kpi_tile(key: str, label: str, definition: str) -> html.Div:
    info_id, definition_id = f"admin-kpi-{key}-info", f"admin-kpi-{key}-definition"
    return html.Div([
        html.Div([
            html.H2(label, className="admin-tile__label", id=f"admin-kpi-{key}-label"),
            html.Button("i", id=info_id, type="button", className="admin-tile__info",
                        **{"aria-label": _("What %(label)s means", label=label), "aria-describedby": definition_id}),
        ], className="admin-tile__head"),
        html.P("…", className="admin-tile__value", id={"type": "admin-kpi-value", "key": key}),
        html.P("", className="admin-tile__change", id={"type": "admin-kpi-change", "key": key}),
        html.Span(definition, id=definition_id, className="visually-hidden"),
        dbc.Tooltip(definition, target=info_id, placement="bottom", className="admin-tooltip"),
    ], className="admin-tile", id=f"admin-kpi-{key}", **{"data-kpi": key})


def comparison_label(period: Period) -> str:
    return {"today": "yesterday", "yesterday": "the day before"}.get(period.name, f"the {period.days} days before")


def tile_change(row: dict, period: Period) -> tuple[list, str]:
    """The change line of a tile and its class (up/down, good/bad for this KPI)."""
    text = format_change(row["unit"], row["change"], row["change_ratio"])
    versus = f" vs {comparison_label(period)} ({format_value(row['unit'], row['previous'])})"
    change = row["change"]
    if change is None or change == 0:
        return [text, versus], "admin-tile__change"
    up = change > 0
    good = up == row["higher_is_better"]
    arrow = html.Span("▲" if up else "▼", **{"aria-hidden": "true"})
    direction = html.Span(" up" if up else " down", className="visually-hidden")
    return [arrow, direction, " ", text, versus], f"admin-tile__change admin-tile__change--{'good' if good else 'bad'}"


# ---- tables ----

def fmt_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(PARIS).strftime("%a %d %b %Y, %H:%M")


def fmt_cents(value) -> str:
    return "" if value is None else f"€{int(value) / 100:,.2f}"


def fmt_cell(field: str, value):
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return fmt_time(value)
    if field.endswith("_cents"):
        return fmt_cents(value)
    if field == "online":
        return "Online" if value else "Offline"
    if field in ("status", "payment_status"):
        return html.Span(str(value).replace("_", " "), className=f"dk-chip admin-status admin-status--{value}")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def data_table(view: str, caption: str, columns, rows: list[dict]) -> html.Table | html.P:
    if not rows:
        return html.P("Nothing in this period.", className="dk-muted admin-empty", id=f"admin-{view}-empty")
    return html.Div(html.Table([
        html.Caption(caption, className="visually-hidden"),
        html.Thead(html.Tr([html.Th(header, scope="col") for _, header in columns])),
        html.Tbody([html.Tr([html.Td(fmt_cell(field, row.get(field))) for field, _ in columns]) for row in rows]),
    ], className="dk-table admin-table", id=f"admin-{view}-table"), className="admin-table-wrap", tabIndex="0",
        role="region", **{"aria-label": caption})


def page_table(page: Page) -> html.Table | html.P:
    caption = f"{page.listing.title}, {page.period.label.lower()}, page {page.page} of {page.pages}"
    return data_table(page.listing.key, caption, page.listing.columns, page.rows)


def pager_status(page: Page) -> str:
    if not page.total:
        return "No rows"
    return f"Rows {page.first_row:,}–{page.last_row:,} of {page.total:,} · page {page.page} of {page.pages}"


def table_view(view: str, title: str, description: str, *, pager: bool = True) -> list:
    """The frame of a table view: title, what it shows, CSV download, the table and its pager."""
    parts = [
        html.Div([
            html.H1(title, className="h3", id="admin-section-title"),
            csv_button(view, "Download CSV"),
        ], className="admin-section-head"),
        html.P(description, className="dk-muted"),
        html.Div(html.P("Loading…", className="dk-muted"), id={"type": "admin-table", "view": view}),
    ]
    if pager:
        parts.append(html.Nav([
            html.Button("Previous page", id={"type": "admin-prev", "view": view}, type="button",
                        className="dk-btn dk-btn--ghost", disabled=True),
            html.P("", id={"type": "admin-pager-status", "view": view}, className="admin-pager__status",
                   role="status", **{"aria-live": "polite"}),
            html.Button("Next page", id={"type": "admin-next", "view": view}, type="button",
                        className="dk-btn dk-btn--ghost", disabled=True),
            dcc.Store(id={"type": "admin-page", "view": view}, data=1),
        ], className="admin-pager", **{"aria-label": f"{title} pages"}))
    return parts


def csv_button(view: str, label: str) -> html.Span:
    return html.Span([
        html.Button(label, id={"type": "admin-csv", "view": view}, type="button", className="dk-btn dk-btn--ghost",
                    **{"data-export": view}),
        dcc.Download(id={"type": "admin-download", "view": view}),
    ], className="admin-csv")


# ---- alerts ----

def alert_items(alerts: list[Alert], *, limit: int | None = None) -> html.Ul | html.P:
    if not alerts:
        return html.P("No alerts: all clear.", className="dk-muted", id="admin-alerts-empty")
    shown = alerts[:limit] if limit else alerts
    items = []
    for alert in shown:
        action = [html.Strong("What to do: "), alert.action]
        if alert.action_href:
            action += [" ", html.A("Open", href=alert.action_href, className="admin-alert__link",
                                   **{"aria-label": f"Open: {alert.title}"})]
        items.append(html.Li([
            html.Span(SEVERITY_LABELS[alert.severity], className=f"admin-severity admin-severity--{alert.severity}"),
            html.Div([html.P(alert.title, className="admin-alert__title"),
                      html.P(alert.detail, className="admin-alert__detail"),
                      html.P(action, className="admin-alert__action")]),
        ], className=f"admin-alert admin-alert--{alert.severity}", **{"data-code": alert.code}))
    return html.Ul(items, className="admin-alerts", id="admin-alert-list")


ALERT_COLUMNS = (("severity", "Severity"), ("title", "Alert"), ("detail", "Detail"), ("action", "What to do"))


def alerts_table(alerts: list[Alert]) -> html.Table | html.P:
    rows = [{"severity": SEVERITY_LABELS[a.severity], "title": a.title, "detail": a.detail, "action": a.action}
            for a in alerts]
    if not rows:
        return html.P("No alerts: all clear.", className="dk-muted", id="admin-alerts-empty")
    return data_table("alerts", "Alerts, most severe first", ALERT_COLUMNS, rows)


# ---- charts ----
# Drawn in HTML and CSS rather than with plotly.js: two bar charts do not need the 1.4 MB library
# (SPEC §22 "Weight"), the labels are text that wraps instead of overlapping, and the numbers are
# real text (the funnel) or repeated in the table under the chart (bookings per day).

def _percent(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f} %"


def funnel_chart(steps: pd.DataFrame) -> html.Div:
    """One horizontal bar per step, as wide as its share of the first step, with the count and the
    share of the step before written out."""
    first = max(int(steps["people"].iloc[0]), 1) if len(steps) else 1
    rows = []
    for row in steps.to_dict("records"):
        people = int(row["people"])
        share = people / first
        rows.append(html.Li([
            html.Span(_(row["label"]), className="admin-bars__label"),
            html.Span(html.Span(className="admin-bars__fill", style={"width": f"{share * 100:.1f}%"}),
                      className="admin-bars__track", **{"aria-hidden": "true"}),
            html.Span([html.Strong(f"{people:,}"), " ",
                       html.Span(_("(%(share)s of the step before)", share=_percent(row["from_previous_step"]))
                                 if row["from_previous_step"] is not None else "", className="dk-muted")],
                      className="admin-bars__value"),
        ], className="admin-bars__row", **{"data-step": row["step"], "data-people": str(people)}))
    return html.Div([html.H2(_("Booking funnel (people)"), className="h6 admin-chart__title"),
                     html.Ol(rows, className="admin-bars", id="admin-funnel-bars")])


def bookings_chart(frame: pd.DataFrame, period: Period) -> html.Div:
    """A column per Paris day (days outside the chosen period, shown for context, in grey); the
    axis labels are short (weekday initial and day of month beyond two weeks) and never overlap."""
    days = list(frame.index)
    values = [int(v) for v in frame["booked"]]
    top = max([*values, 1])
    few = len(days) <= 14  # a week or two: every column labelled "Mon 24" with its value on top
    columns = []
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        inside = period.first_day <= day <= period.last_day
        label = day.strftime("%a %d") if few else (day.strftime("%d %b") if n % 5 == 0 else "")
        columns.append(html.Div([
            html.Span(f"{value:,}" if few else "", className="admin-columns__value"),
            html.Span(className="admin-columns__bar" + ("" if inside else " admin-columns__bar--context"),
                      style={"height": f"{value / top * 100:.1f}%"}),
            html.Span(label, className="admin-columns__label"),
        ], className="admin-columns__day", title=f"{day:%a %d %b}: {value}"))
    return html.Div([
        html.H2(_("Bookings per day (Paris days)"), className="h6 admin-chart__title"),
        html.Div(columns, className="admin-columns", id="admin-bookings-columns",
                 style={"gridTemplateColumns": f"repeat({len(days)}, minmax(0, 1fr))"}, **{"aria-hidden": "true"}),
    ])


def chart(chart_id: str, caption: str) -> html.Figure:
    return html.Figure([
        html.Div(html.P(_("Loading…"), className="dk-muted"), id=chart_id, className="admin-graph"),
        html.Figcaption(caption, className="visually-hidden"),
    ], className="dk-card admin-chart")


DAILY_COLUMNS = (("day", "Day"), ("booked", "Booked"), ("completed", "Completed"), ("no_show", "No-shows"),
                 ("net_revenue_cents", "Net revenue"), ("new_patients", "New patients"))


def daily_table(frame: pd.DataFrame, period: Period) -> html.Table | html.P:
    rows = [{"day": day.strftime("%a %d %b %Y"), **{k: int(v) for k, v in values.items()}}
            for day, values in frame.iterrows() if period.first_day <= day <= period.last_day]
    return data_table("daily", f"Figures per day, {period.label.lower()}", DAILY_COLUMNS, rows)
