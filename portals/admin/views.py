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
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from dash import dcc, html

from core import i18n
from core.metrics.alerts import Alert
from core.metrics.definitions import KPIS
from core.metrics.listings import Page
from core.metrics.periods import PARIS, Period
from portals.i18n import _, current_language, number

# ---- formats (SPEC §20): every date, number and amount in the admin's language, through Babel ----

def _locale():
    return i18n.babel_locale(current_language())


# English dates have no comma after the weekday (README "Formats"); Babel's en_GB skeletons put one.
_ENGLISH_DAYS = {"yMMMEd": "EEE d MMM y", "MMMEd": "EEE d MMM"}


def fmt_day(value, skeleton: str = "yMMMEd") -> str:
    """`Thu 3 Dec 2026` / `jeu. 3 déc. 2026` / `Do., 3. Dez. 2026` (Babel skeletons: the locale's order)."""
    if current_language() == "en" and skeleton in _ENGLISH_DAYS:
        return babel_dates.format_date(value, _ENGLISH_DAYS[skeleton], locale=_locale())
    return babel_dates.format_skeleton(skeleton, value, locale=_locale())


def fmt_time(value: datetime | None, *, year: bool = True) -> str:
    """A moment in Paris time, short, 24 h: `Thu, 3 Dec 2026, 09:00` / `jeu. 3 déc. 2026, 09:00`."""
    if value is None:
        return ""
    local = value.astimezone(PARIS)
    return _locale().datetime_formats["medium"].format(local.strftime("%H:%M"),
                                                       fmt_day(local, "yMMMEd" if year else "MMMEd"))


def fmt_cents(value) -> str:
    """`€1,234.50` / `1 234,50 €` / `1.234,50 €` (cents always written: the console compares amounts)."""
    return "" if value is None else i18n.format_money(int(value), "EUR", current_language())


def fmt_percent(ratio: float, digits: int = 1) -> str:
    """`12.5%` / `12,5 %` / `12,5 %`: the locale's percent pattern with `digits` decimals."""
    # English keeps the console's "12.5 %" (its tests and the README quote it); fr/de are Babel's.
    pattern = "#,##0 %" if current_language() == "en" else _locale().percent_formats[None].pattern
    if digits:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * digits, 1)
    return babel_numbers.format_percent(ratio, pattern, locale=_locale())


def format_value(unit: str, value: float | None) -> str:
    """How a tile shows a value: "—" for none, "12.5%" / "12,5 %", "€35.00" / "35,00 €", "1.25" / "1,25"."""
    if value is None:
        return "—"
    if unit == "ratio":
        return fmt_percent(value)
    if unit == "cents":
        return fmt_cents(value)
    if unit == "decimal":
        return babel_numbers.format_decimal(value, "#,##0.00", locale=_locale())
    return number(int(value))


def format_change(unit: str, change: float | None, change_ratio: float | None) -> str:
    """'+2', '−1.5 pts', '+12 %', 'new' (from zero), 'no change' or '—' (nothing to compare)."""
    if change is None:
        return "—"
    if change == 0 or (unit == "ratio" and round(abs(change) * 100, 1) == 0):
        return _("no change")
    sign = "+" if change > 0 else "−"
    if unit == "ratio":
        return _("%(sign)s%(points)s pts", sign=sign,
                 points=babel_numbers.format_decimal(abs(change) * 100, "0.0", locale=_locale()))
    if change_ratio is None:
        return _("new") if change > 0 else "—"
    return sign + fmt_percent(abs(change_ratio), 0)


def status_words() -> dict[str, str]:
    """Appointment and payment statuses as the tables' chips show them."""
    return {"pending": _("Unpaid hold"), "confirmed": _("Confirmed"), "paid": _("Paid"), "completed": _("Completed"),
            "no_show": _("No-show"), "cancelled": _("Cancelled"), "succeeded": _("Succeeded"), "failed": _("Failed"),
            "partially_refunded": _("Partly refunded"), "refunded": _("Refunded"), "requires_action": _("Needs action"),
            "processing": _("Processing"), "expired": _("Expired")}


def describe_period(period: Period) -> str:
    """'Mon 30 Mar 2026' or 'Tue 24 Mar – Mon 30 Mar 2026' in the admin's language (both days included)."""
    last = period.last_day
    if period.days == 1:
        return fmt_day(last)
    first = fmt_day(period.first_day, "MMMEd" if period.first_day.year == last.year else "yMMMEd")
    return f"{first} – {fmt_day(last)}"


def severity_labels() -> dict[str, str]:
    return {"critical": _("Critical"), "warning": _("Warning"), "info": _("Info")}


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
        html.H2(_("See a doctor now"), className="admin-tile__label", id="admin-walkin-title"),
        html.Div(html.P("…", className="dk-muted"), id="admin-walkin", role="status"),
    ], className="admin-tile admin-walkin", **{"aria-labelledby": "admin-walkin-title"})


def walkin_figures(stats) -> list:
    """"2 waiting · longest 6 min · 1 over 15 min · 3 doctors taking · usual wait 4 min"."""
    longest = _("%(n)s min", n=stats.longest_wait_seconds // 60) if stats.waiting else "—"
    usual = _("about %(n)s min", n=stats.usual_wait) if stats.usual_wait else "—"
    over = html.Strong(_("%(n)s over %(max)s min", n=stats.over_max_wait, max=stats.max_wait_minutes),
                       className="admin-walkin__over") \
        if stats.over_max_wait else _("none over %(max)s min", max=stats.max_wait_minutes)
    return [html.P(_("%(n)s waiting", n=stats.waiting), className="admin-tile__value", id="admin-walkin-waiting"),
            html.P([_("Longest wait %(longest)s", longest=longest), " · ", over, " · ",
                    _("%(n)s doctors taking consultations", n=stats.doctors_taking), " · ",
                    _("usual wait (7 days) %(usual)s", usual=usual)], className="admin-tile__change")]


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
    return {"today": _("yesterday"), "yesterday": _("the day before")}.get(
        period.name, _("the %(days)s days before", days=period.days))


def tile_change(row: dict, period: Period) -> tuple[list, str]:
    """The change line of a tile and its class (up/down, good/bad for this KPI)."""
    text = format_change(row["unit"], row["change"], row["change_ratio"])
    versus = " " + _("vs %(when)s (%(value)s)", when=comparison_label(period),
                     value=format_value(row["unit"], row["previous"]))
    change = row["change"]
    if change is None or change == 0:
        return [text, versus], "admin-tile__change"
    up = change > 0
    good = up == row["higher_is_better"]
    arrow = html.Span("▲" if up else "▼", **{"aria-hidden": "true"})
    direction = html.Span(" " + (_("up") if up else _("down")), className="visually-hidden")
    return [arrow, direction, " ", text, versus], f"admin-tile__change admin-tile__change--{'good' if good else 'bad'}"


# ---- tables ----

def fmt_cell(field: str, value):
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return fmt_time(value)
    if field.endswith("_cents"):
        return fmt_cents(value)
    if field == "online":
        return _("Online") if value else _("Offline")
    if field in ("status", "payment_status"):
        return html.Span(status_words().get(str(value), str(value).replace("_", " ")),
                         className=f"dk-chip admin-status admin-status--{value}")
    if field == "day":
        return fmt_day(value)
    if field == "specialty":  # stored as its English catalog key (core.doctors.onboarding.SPECIALTIES)
        return _(value)
    if isinstance(value, Decimal | float):
        return babel_numbers.format_decimal(value, "#,##0.00", locale=_locale())
    if isinstance(value, int) and not isinstance(value, bool):
        return number(value)
    return str(value)


def data_table(view: str, caption: str, columns, rows: list[dict], *, row_action=None) -> html.Table | html.P:
    """`row_action(row)`: an extra last cell (the appointments' "Actions" link)."""
    if not rows:
        return html.P(_("Nothing in this period."), className="dk-muted admin-empty", id=f"admin-{view}-empty")
    headers = [html.Th(header, scope="col") for _field, header in columns]
    if row_action:
        headers.append(html.Th(html.Span(_("Actions"), className="visually-hidden"), scope="col"))
    return html.Div(html.Table([
        html.Caption(caption, className="visually-hidden"),
        html.Thead(html.Tr(headers)),
        html.Tbody([html.Tr([html.Td(fmt_cell(field, row.get(field))) for field, _h in columns]
                            + ([html.Td(row_action(row))] if row_action else [])) for row in rows]),
    ], className="dk-table admin-table", id=f"admin-{view}-table"), className="admin-table-wrap", tabIndex="0",
        role="region", **{"aria-label": caption})


def appointment_action_link(row: dict):
    """The row's way to its actions panel; the link's text names the consultation for screen readers."""
    return dcc.Link([_("Actions"), html.Span(f" — {row.get('patient') or ''}, {fmt_time(row.get('start_at'))}",
                                             className="visually-hidden")],
                    href=f"/admin/appointments?appointment={row['id']}", className="admin-act-link")


def page_table(page: Page) -> html.Table | html.P:
    caption = _("%(title)s, %(period)s, page %(page)s of %(pages)s", title=listing_titles().get(
        page.listing.key, page.listing.title), period=period_label(page.period).lower(), page=number(page.page),
        pages=number(page.pages))
    headers = column_headers()
    columns = tuple((field, headers.get(field, header)) for field, header in page.listing.columns)
    action = appointment_action_link if page.listing.key == "appointments" else None
    return data_table(page.listing.key, caption, columns, page.rows, row_action=action)


def listing_titles() -> dict[str, str]:
    return {"appointments": _("Appointments"), "doctors": _("Doctors"), "patients": _("Patients"),
            "payments": _("Payments")}


def column_headers() -> dict[str, str]:
    return {"start_at": _("Start"), "doctor": _("Doctor"), "patient": _("Patient"), "status": _("Status"),
            "price_cents": _("Price"), "payment_status": _("Payment"), "payment_provider": _("Paid by"),
            "booked_at": _("Booked at"), "specialty": _("Specialty"), "online": _("Online"), "booked": _("Booked"),
            "completed": _("Completed"), "no_show": _("No-shows"), "cancelled": _("Cancelled"),
            "rating": _("Rating"), "joined_at": _("Joined"), "appointments": _("Appointments"),
            "paid_cents": _("Paid (net)"), "created_at": _("Time"), "account": _("Account"), "kind": _("Kind"),
            "provider": _("Provider"), "amount_cents": _("Amount"), "refunded_cents": _("Refunded"),
            "failure_code": _("Failure")}


def filter_labels() -> dict[str, str]:
    """Words for the status filters and sorts of every table."""
    return {"": _("All"), "pending": _("Unpaid holds"), "confirmed": _("Confirmed"), "paid": _("Paid"),
            "completed": _("Completed"), "no_show": _("No-shows"), "cancelled": _("Cancelled"),
            "online": _("Online"), "offline": _("Offline"), "suspended": _("Suspended"),
            "booked": _("With appointments"), "joined_only": _("Joined only"), "succeeded": _("Succeeded"),
            "failed": _("Failed"), "partially_refunded": _("Partly refunded"), "refunded": _("Refunded"),
            "start_desc": _("Latest start"), "start_asc": _("Earliest start"), "booked_desc": _("Latest booked"),
            "price_desc": _("Highest price"), "busiest": _("Busiest"), "name": _("Name"),
            "no_shows": _("Most no-shows"), "rating": _("Best rated"), "most": _("Most appointments"),
            "newest": _("Newest"), "latest": _("Latest"), "amount_desc": _("Highest amount"),
            "refunded_desc": _("Most refunded")}


def _pills(kind: str, view: str, keys, chosen: str, label: str) -> html.Div:
    words = filter_labels()
    group_id = f"admin-{kind}-label-{view}"
    return html.Div([
        html.Span(label, id=group_id, className="admin-filter__legend"),
        html.Div([html.Button(words.get(key, key), id={"type": f"admin-{kind}", "view": view, "key": key},
                              type="button", className="admin-filter__option",
                              **{"aria-pressed": "true" if key == chosen else "false", "data-key": key})
                  for key in keys], className="admin-filter__options"),
    ], className="admin-filter", role="group", **{"aria-labelledby": group_id})


def table_controls(listing) -> html.Div:
    """Search, status filter and sort of a table, all applied in the database (SPEC §22)."""
    view = listing.key
    parts = [html.Label([_("Search"), dcc.Input(id={"type": "admin-search", "view": view}, type="search",
                                                debounce=True, maxLength=100, className="form-control",
                                                placeholder=_("Name, email or id"))],
                        className="admin-search")]
    if listing.statuses:
        parts.append(_pills("status", view, ("", *listing.statuses), "", _("Status")))
    if len(listing.sorts) > 1:
        parts.append(_pills("sort", view, tuple(listing.sorts), listing.default_sort, _("Sort")))
    parts.append(dcc.Store(id={"type": "admin-query", "view": view},
                           data={"search": "", "status": "", "sort": listing.default_sort}))
    return html.Div(parts, className="admin-controls")


def pager_status(page: Page) -> str:
    if not page.total:
        return _("No rows")
    return _("Rows %(first)s–%(last)s of %(total)s · page %(page)s of %(pages)s", first=number(page.first_row),
             last=number(page.last_row), total=number(page.total), page=number(page.page),
             pages=number(page.pages))


def table_view(view: str, title: str, description: str, *, pager: bool = True, listing=None,
               before_table: list | None = None) -> list:
    """The frame of a table view: title, what it shows, CSV download, its search and filters, the
    table and its pager."""
    parts = [
        html.Div([
            html.H1(title, className="h3", id="admin-section-title"),
            csv_button(view, _("Download CSV"), filtered=listing is not None),
        ], className="admin-section-head"),
        html.P(description, className="dk-muted"),
        *(before_table or []),
        *([table_controls(listing)] if listing is not None else []),
        html.Div(html.P(_("Loading…"), className="dk-muted"), id={"type": "admin-table", "view": view}),
    ]
    if pager:
        parts.append(html.Nav([
            html.Button(_("Previous page"), id={"type": "admin-prev", "view": view}, type="button",
                        className="dk-btn dk-btn--ghost", disabled=True),
            html.P("", id={"type": "admin-pager-status", "view": view}, className="admin-pager__status",
                   role="status", **{"aria-live": "polite"}),
            html.Button(_("Next page"), id={"type": "admin-next", "view": view}, type="button",
                        className="dk-btn dk-btn--ghost", disabled=True),
            dcc.Store(id={"type": "admin-page", "view": view}, data=1),
        ], className="admin-pager", **{"aria-label": _("%(title)s pages", title=title)}))
    return parts


def csv_button(view: str, label: str, *, filtered: bool = False) -> html.Span:
    """A "Download CSV" button. `filtered`: the button above a searchable table, whose file holds
    exactly the rows of the table as the admin has searched, filtered and sorted it (every page);
    its own id type, since its callback reads the table's query, which the Exports view lacks."""
    kind = "admin-table" if filtered else "admin"
    return html.Span([
        html.Button(label, id={"type": f"{kind}-csv", "view": view}, type="button", className="dk-btn dk-btn--ghost",
                    **{"data-export": view}),
        dcc.Download(id={"type": f"{kind}-download", "view": view}),
    ], className="admin-csv")


# ---- alerts ----

def alert_items(alerts: list[Alert], *, limit: int | None = None) -> html.Ul | html.P:
    if not alerts:
        return html.P(_("No alerts: all clear."), className="dk-muted", id="admin-alerts-empty")
    shown = alerts[:limit] if limit else alerts
    items = []
    for alert in shown:
        action = [html.Strong(_("What to do: ")), alert.action]
        if alert.action_href:
            action += [" ", html.A(_("Open"), href=alert.action_href, className="admin-alert__link",
                                   **{"aria-label": _("Open: %(title)s", title=alert.title)})]
        entities = [html.Ul([html.Li(dcc.Link(label, href=href, className="admin-alert__entity"))
                             for label, href in alert.links], className="admin-alert__entities",
                            **{"aria-label": _("Act on")})] if alert.links else []
        items.append(html.Li([
            html.Span(severity_labels()[alert.severity],
                      className=f"admin-severity admin-severity--{alert.severity}"),
            html.Div([html.P(alert.title, className="admin-alert__title"),
                      html.P(alert.detail, className="admin-alert__detail"),
                      *entities,
                      html.P(action, className="admin-alert__action")]),
        ], className=f"admin-alert admin-alert--{alert.severity}", **{"data-code": alert.code}))
    return html.Ul(items, className="admin-alerts", id="admin-alert-list")


# ---- charts ----
# Drawn in HTML and CSS rather than with plotly.js: two bar charts do not need the 1.4 MB library
# (SPEC §22 "Weight"), the labels are text that wraps instead of overlapping, and the numbers are
# real text (the funnel) or repeated in the table under the chart (bookings per day).

def _percent(value) -> str:
    return "—" if value is None else fmt_percent(float(value), 0)


def funnel_labels() -> dict[str, str]:
    return {"availability_viewed": _("Availability viewed"), "slot_held": _("Slot held"), "signed_up": _("Signed up"),
            "checkout_started": _("Checkout started"), "paid": _("Paid"),
            "device_test_passed": _("Device test passed"), "joined": _("Joined")}


def funnel_chart(steps: pd.DataFrame) -> html.Div:
    """One horizontal bar per step, as wide as its share of the first step, with the count and the
    share of the step before written out."""
    first = max(int(steps["people"].iloc[0]), 1) if len(steps) else 1
    rows = []
    for row in steps.to_dict("records"):
        people = int(row["people"])
        share = people / first
        rows.append(html.Li([
            html.Span(funnel_labels().get(row["step"], row["label"]), className="admin-bars__label"),
            html.Span(html.Span(className="admin-bars__fill", style={"width": f"{share * 100:.1f}%"}),
                      className="admin-bars__track", **{"aria-hidden": "true"}),
            html.Span([html.Strong(number(people)), " ",
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
        label = fmt_day(day, "Ed") if few else (fmt_day(day, "MMMd") if n % 5 == 0 else "")
        columns.append(html.Div([
            html.Span(number(value) if few else "", className="admin-columns__value"),
            html.Span(className="admin-columns__bar" + ("" if inside else " admin-columns__bar--context"),
                      style={"height": f"{value / top * 100:.1f}%"}),
            html.Span(label, className="admin-columns__label"),
        ], className="admin-columns__day", title=f"{fmt_day(day, 'MMMEd')}: {number(value)}"))
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


def daily_columns() -> tuple[tuple[str, str], ...]:
    return (("day", _("Day")), ("booked", _("Booked")), ("completed", _("Completed")), ("no_show", _("No-shows")),
            ("net_revenue_cents", _("Net revenue")), ("new_patients", _("New patients")))


def daily_table(frame: pd.DataFrame, period: Period) -> html.Table | html.P:
    rows = [{"day": day, **{k: int(v) for k, v in values.items()}}
            for day, values in frame.iterrows() if period.first_day <= day <= period.last_day]
    return data_table("daily", _("Figures per day, %(period)s", period=period_label(period).lower()), daily_columns(),
                      rows)


def period_label(period: Period) -> str:
    return {"today": _("Today"), "yesterday": _("Yesterday"), "week": _("Last 7 days"),
            "month": _("Last 30 days")}.get(period.name, describe_period(period))
