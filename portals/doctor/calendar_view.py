"""The doctor calendar's Day, Week and Month views as Dash components (SPEC §4; issue 8), and the
partial updates that change single cells: after a press or a refresh only the cells that changed
go back, as new props for their own buttons (`set_props`) and a `dash.Patch` of their signatures —
never the whole grid.

Plain functions over the calendar read model (`core.scheduling.doctor_calendar`), so they are
tested without a server. The grid's cells are buttons with a full ARIA label; the browser side
(`static/js/doctor-calendar.js`) turns a press into the `doctor-cal-press` store and moves focus with
the arrow keys (one tab stop per grid).
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dash import Patch, html

from core.scheduling.doctor_calendar import (
    AVAILABLE,
    BOOKED,
    HELD,
    UNAVAILABLE,
    CalendarView,
    Cell,
    DayColumn,
    DaySummary,
    row_order,
)
from portals.i18n import _

VIEWS = ("day", "week", "month")
GRID = "doctor-cal-grid"  # the container; its children are [table]
PRESS = "doctor-cal-press"  # written by doctor-calendar.js: {start, state, rc, key, n}
OPEN_DAY = "doctor-cal-open"  # written by doctor-calendar.js: {day, n}
NAV = "doctor-cal-nav"  # {view, anchor}
KEY = "doctor-cal-key"  # what the rendered grid shows: a press or refresh for another grid is dropped
SIGS = "doctor-cal-sigs"  # one short signature per rendered cell, row by row
STATUS = "doctor-cal-status"
STATE_WORDS = {AVAILABLE: "available", UNAVAILABLE: "unavailable", BOOKED: "booked", HELD: "held"}
ACTIONS = {AVAILABLE: "press to turn off", UNAVAILABLE: "press to turn on"}


# --- navigation ----------------------------------------------------------------------------------

def parse_nav(nav: dict | None, today: date) -> tuple[str, date]:
    """The view and anchor day from the nav store; anything odd falls back to this week."""
    nav = nav if isinstance(nav, dict) else {}
    view = nav.get("view") if nav.get("view") in VIEWS else "week"
    try:
        anchor = date.fromisoformat(nav.get("anchor") or "")
    except (TypeError, ValueError):
        anchor = today
    return view, anchor


def shift_anchor(view: str, anchor: date, step: int) -> date:
    """Previous (-1) or next (+1) day, week or month; `step` 0 is not used (Today sets the day)."""
    if view == "day":
        return anchor + timedelta(days=step)
    if view == "week":
        return anchor + timedelta(days=7 * step)
    month = anchor.year * 12 + anchor.month - 1 + step
    return date(month // 12, month % 12 + 1, 1)


def view_days(view: str, anchor: date) -> list[date]:
    if view == "day":
        return [anchor]
    monday = anchor - timedelta(days=anchor.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def day_label(day: date) -> str:
    """"Tuesday 3 March" (SPEC §4's example label)."""
    return f"{day:%A} {day.day} {day:%B}"


def view_title(view: str, anchor: date) -> str:
    if view == "day":
        return f"{day_label(anchor)} {anchor.year}"
    if view == "week":
        monday = view_days("week", anchor)[0]
        sunday = monday + timedelta(days=6)
        return f"Week of {monday.day} {monday:%B} – {sunday.day} {sunday:%B} {sunday.year}"
    return f"{anchor:%B} {anchor.year}"


def view_key(view: str, anchor: date, timezone: str, today: date) -> str:
    """Identifies a rendered grid: a refresh patches it only if the key is the same (same view,
    days, zone — and day: after midnight "today" moves, so the grid is rendered afresh)."""
    first = view_days(view, anchor)[0] if view != "month" else anchor.replace(day=1)
    return f"{view}:{first.isoformat()}:{timezone}:{today.isoformat()}"


# --- cells ---------------------------------------------------------------------------------------

def time_label(cell: Cell) -> str:
    label = cell.local.strftime("%H:%M")
    return f"{label} (second time, after the clocks go back)" if cell.repeated else label


def cell_label(cell: Cell) -> str:
    """"Tuesday 3 March, 14:30, available — press to turn off" and its siblings."""
    where = f"{day_label(cell.local.date())}, {time_label(cell)}"
    if cell.state == BOOKED:
        what = f"booked by {cell.patient_name} ({cell.appointment_status})"
    elif cell.state == HELD:
        what = "held — a patient is paying for this time right now"
    else:
        what = STATE_WORDS[cell.state]
        if cell.not_offered:
            what += f", not offered to patients: {_(cell.not_offered)}"  # a reason marked in core
    if cell.past:
        return f"{where}, past, {what}"
    if cell.state == BOOKED:
        return f"{where}, {what} — cancel the appointment to free this time"
    action = ACTIONS.get(cell.state)
    return f"{where}, {what} — {action}" if action else f"{where}, {what}"


def cell_class(cell: Cell) -> str:
    classes = ["dk-cal-cell", f"dk-cal-cell--{cell.state}"]
    if cell.past:
        classes.append("is-past")
    if cell.weekend:
        classes.append("is-weekend")
    if cell.not_offered:
        classes.append("is-not-offered")
    if cell.now_fraction is not None:
        classes.append("is-now")
    return " ".join(classes)


def el(tag: str, children=None, **props) -> dict:
    """A `dash.html` component written directly as the JSON Dash sends for it. The grid's 336
    cells are built this way: creating and serialising Component objects took ~40 ms of a Week
    render, plain dicts ~6 ms (bench/doctor_portal.py). Same output, no prop validation."""
    if children is not None:
        props["children"] = children
    return {"type": tag, "namespace": "dash_html_components", "props": props}


def cell_children(cell: Cell) -> list[dict]:
    children: list[dict] = []
    if cell.state == BOOKED:
        children.append(el("Span", cell.patient_name, className="dk-cal-cell__name"))
        # Shown on hover and keyboard focus (CSS); the button's label already says it to screen readers.
        children.append(el("Span", f"{cell.patient_name} · {cell.appointment_status}", className="dk-cal-tip",
                           **{"aria-hidden": "true"}))
    elif cell.state == HELD:
        children.append(el("Span", "Held", className="dk-cal-cell__name"))
    if cell.now_fraction is not None:
        children.append(el("Span", className="dk-cal-now", style={"top": f"{cell.now_fraction * 100:.1f}%"},
                           **{"aria-hidden": "true"}))
    return children


def cell_props(cell: Cell) -> dict:
    """Every prop of a cell's button that a change of state can change (`set_props` sets these)."""
    return {
        "className": cell_class(cell),
        "aria-label": cell_label(cell),
        "aria-disabled": "false" if cell.pressable else "true",
        "data-state": cell.state if cell.pressable else f"{cell.state}-inert",
        "children": cell_children(cell),
    }


def cell_id(row: int, col: int) -> str:
    return f"doctor-cell-{row}-{col}"


def cell_button(cell: Cell, row: int, col: int) -> dict:
    # An id, so a change reaches this one button (set_props) and nothing else re-renders;
    # no n_clicks: presses go through doctor-calendar.js.
    return el("Button", id=cell_id(row, col), type="button", disable_n_clicks=True, **cell_props(cell),
              **{"data-start": cell.start.isoformat(), "data-rc": f"{row},{col}"})


def cell_signature(cell: Cell | None) -> str:
    """Short and stable: equal signatures render equal buttons (the now line to the minute)."""
    if cell is None:
        return "-"
    minute = "" if cell.now_fraction is None else str(int(cell.now_fraction * 30))
    raw = "|".join([cell.state, str(cell.past), cell.not_offered or "", cell.patient_name or "",
                    cell.appointment_status or "", minute])
    return format(zlib.crc32(raw.encode()), "08x")


def grid_rows(days: list[DayColumn]) -> list[tuple[str, list[Cell | None]]]:
    """Rows by wall-clock time across the days; a day without that time (clocks forward) gets None."""
    keys = sorted({c.row_key for d in days for c in d.cells}, key=row_order)
    by_day = [{c.row_key: c for c in d.cells} for d in days]
    return [(key, [cells.get(key) for cells in by_day]) for key in keys]


def _gap(day: date, key: str) -> dict:
    return el("Td", [el("Span", "–", **{"aria-hidden": "true"}),
                     el("Span", f"No {key} on {day_label(day)}: the clocks go forward", className="visually-hidden")],
              className="dk-cal-gap")


def _row_header(key: str) -> dict:
    if key.endswith("+"):
        return el("Th", [key[:-1], el("Span", " (again)", className="dk-cal-again")], scope="row")
    return el("Th", key, scope="row")


def _column_header(day: date, today: date, view: str) -> html.Th:
    text = day_label(day) if view == "day" else [f"{day:%a}", html.Br(), f"{day.day} {day:%b}"]
    classes = ["dk-cal-day"] + (["is-weekend"] if day.weekday() >= 5 else []) + (["is-today"] if day == today else [])
    extra = {"aria-current": "date"} if day == today else {}
    return html.Th(text, scope="col", className=" ".join(classes), **extra)


def render_grid(view: str, calendar: CalendarView, key: str, today: date) -> tuple[list, list[str]]:
    """The Day or Week table (children of GRID) and the cells' signatures, row by row."""
    rows = grid_rows(calendar.days)
    signatures: list[str] = []
    body = []
    for r, (row_key, cells) in enumerate(rows):
        tds = []
        for c, cell in enumerate(cells):
            signatures.append(cell_signature(cell))
            tds.append(_gap(calendar.days[c].day, row_key) if cell is None else
                       el("Td", cell_button(cell, r, c), className="dk-cal-slot"))
        body.append(el("Tr", [_row_header(row_key), *tds]))
    table = html.Table([
        html.Thead(html.Tr([html.Th(html.Span("Time", className="visually-hidden"), scope="col",
                                    className="dk-cal-corner"),
                            *[_column_header(d.day, today, view) for d in calendar.days]])),
        html.Tbody(body),
    ], className=f"dk-cal dk-cal--{view}", role="grid", id="doctor-cal-table",
        **{"aria-labelledby": "doctor-cal-title", "data-key": key, "aria-describedby": "doctor-cal-help"})
    return [table], signatures


def cell_updates(changes: list[tuple[int, int, Cell]], columns: int) -> tuple[list[tuple[str, dict]], Patch]:
    """The changed cells as (button id, new props) for `set_props`, and a Patch of the signatures.

    Why not a Patch of GRID's children: measured on Dash 4.4, any change to a container's
    `children` (a Patch included) re-mounts every component below it — the whole table is rebuilt
    and keyboard focus is lost. Setting a button's own props re-renders that button only."""
    sigs = Patch()
    updates = []
    for row, col, cell in changes:
        updates.append((cell_id(row, col), cell_props(cell)))
        sigs[row * columns + col] = cell_signature(cell)
    return updates, sigs


def diff_cells(calendar: CalendarView, old: list[str]) -> list[tuple[int, int, Cell]] | None:
    """The cells whose signature changed, or None when the grid's shape changed (render anew)."""
    rows = grid_rows(calendar.days)
    columns = len(calendar.days)
    if len(old) != len(rows) * columns:
        return None
    changed = []
    for r, (_key, cells) in enumerate(rows):
        for c, cell in enumerate(cells):
            if (cell is None) != (old[r * columns + c] == "-"):
                return None
            if cell is not None and cell_signature(cell) != old[r * columns + c]:
                changed.append((r, c, cell))
    return changed


def locate(calendar: CalendarView, start: datetime) -> tuple[int, int, Cell] | None:
    for r, (_key, cells) in enumerate(grid_rows(calendar.days)):
        for c, cell in enumerate(cells):
            if cell is not None and cell.start == start:
                return r, c, cell
    return None


# --- month ---------------------------------------------------------------------------------------

def month_label(summary: DaySummary) -> str:
    # The count is of starts patients are offered that day: the number their list shows.
    parts = ["past"] if summary.past else [_("%(n)s times patients can book", n=summary.available)]
    parts.append(f"{summary.booked} booked")
    return f"{day_label(summary.day)}: {', '.join(parts)} — press to open the day"


def month_signature(summaries: list[DaySummary]) -> list[str]:
    return [format(zlib.crc32(f"{s.day}|{s.available}|{s.booked}|{s.past}".encode()), "08x") for s in summaries]


def _weekday_header(day: date) -> html.Th:
    return html.Th([html.Span(f"{day:%a}", **{"aria-hidden": "true"}),
                    html.Span(f"{day:%A}", className="visually-hidden")], scope="col")


def render_month(anchor: date, summaries: list[DaySummary], key: str, today: date) -> list:
    """The Month overview: whole weeks, each day a button that opens its Day view."""
    weeks = [summaries[i:i + 7] for i in range(0, len(summaries), 7)]
    body = []
    for r, week in enumerate(weeks):
        tds = []
        for c, s in enumerate(week):
            classes = ["dk-cal-month-day"]
            classes += ["is-outside"] if s.day.month != anchor.month else []
            classes += ["is-weekend"] if s.day.weekday() >= 5 else []
            classes += ["is-past"] if s.past else []
            classes += ["is-today"] if s.day == today else []
            counts = [html.Span(f"{s.booked} booked", className="dk-cal-count dk-cal-count--booked")]
            if not s.past:
                counts.insert(0, html.Span(_("%(n)s bookable", n=s.available),
                                           className="dk-cal-count dk-cal-count--open"))
            extra = {"aria-current": "date"} if s.day == today else {}
            tds.append(html.Td(html.Button(
                [html.Span(str(s.day.day), className="dk-cal-month-day__number"), *counts],
                type="button", className=" ".join(classes),
                **{"aria-label": month_label(s), "data-open-day": s.day.isoformat(), "data-rc": f"{r},{c}"},
                **extra)))
        body.append(html.Tr(tds))
    table = html.Table([
        html.Thead(html.Tr([_weekday_header(s.day) for s in weeks[0]])),
        html.Tbody(body),
    ], className="dk-cal dk-cal--month", role="grid", id="doctor-cal-table",
        **{"aria-labelledby": "doctor-cal-title", "data-key": key, "aria-describedby": "doctor-cal-help"})
    return [table]


def press_message(cell: Cell) -> str:
    when = f"{day_label(cell.local.date())}, {time_label(cell)}"
    if cell.state == AVAILABLE:
        note = f" (not offered to patients: {cell.not_offered})" if cell.not_offered else ""
        return f"{when} is now available{note}."
    if cell.state == UNAVAILABLE:
        return f"{when} is now unavailable."
    return f"{when} is {STATE_WORDS[cell.state]}."


def zone_label(timezone: str, now: datetime) -> str:
    """"Europe/Paris (UTC+01:00)" — the offset of now, which changes with DST."""
    offset = now.astimezone(ZoneInfo(timezone)).strftime("%z")
    return f"{timezone} (UTC{offset[:3]}:{offset[3:]})"
