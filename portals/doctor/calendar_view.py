"""The doctor calendar's Day, Week and Month views as data (SPEC §4; issues 8 and 22).

The grid is plain data in a `dcc.Store` (CELLS): columns, rows and one entry per cell with its
ARIA label, classes and state. `static/js/doctor-calendar.js` renders it through one clientside
callback and diffs it against what it rendered last, so an update changes only the buttons whose
entry changed (focus stays put); it also owns the keyboard (arrow keys, one tab stop per grid) and
turns a press into the PRESS store. After a press or a refresh only the changed entries go back, as
a `dash.Patch` of the store and of the entries' digests (DIGESTS: what the page holds, so the server
can tell what changed without the page sending the cells back).

Plain functions over the calendar read model (`core.scheduling.doctor_calendar`), so they are
tested without a server.
"""

from __future__ import annotations

import json
import zlib
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dash import Patch

from core import i18n
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
from portals.i18n import _, current_language, lazy_gettext, ngettext

VIEWS = ("day", "week", "month")
GRID = "doctor-cal-grid"  # the container doctor-calendar.js renders the table into (Dash never updates it)
CELLS = "doctor-cal-cells"  # the rendered grid as data: {key, view, cols, rows, cells}
DIGESTS = "doctor-cal-digests"  # one short digest per entry of CELLS["cells"]
PAGE = "doctor-page"  # the page's state: {zone (the doctor's time zone), key (the grid on screen)}
PRESS = "doctor-cal-press"  # written by doctor-calendar.js: {start, state, rc, key, n}
OPEN_DAY = "doctor-cal-open"  # written by doctor-calendar.js: {day, n}
NAV = "doctor-cal-nav"  # {view, anchor}
STATUS = "doctor-cal-status"
STATE_WORDS = {AVAILABLE: lazy_gettext("available"), UNAVAILABLE: lazy_gettext("unavailable"),
               BOOKED: lazy_gettext("booked"), HELD: lazy_gettext("held")}
ACTIONS = {AVAILABLE: lazy_gettext("press to turn off"), UNAVAILABLE: lazy_gettext("press to turn on")}
# An appointment's status as the calendar names it (the codes are the database's).
STATUS_WORDS = {"pending_payment": lazy_gettext("awaiting payment"), "paid": lazy_gettext("paid"),
                "confirmed": lazy_gettext("confirmed"), "completed": lazy_gettext("completed"),
                "no_show": lazy_gettext("no-show")}
# Day names and dates in the page's language (Babel patterns; German puts a comma and a full stop).
DAY_PATTERN = {"en": "EEEE d MMMM", "fr": "EEEE d MMMM", "de": "EEEE, d. MMMM"}
SHORT_DATE = {"en": "d MMM", "fr": "d MMM", "de": "d. MMM"}


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


def _date(day: date, patterns: dict[str, str] | str) -> str:
    language = current_language()
    pattern = patterns if isinstance(patterns, str) else patterns.get(language, patterns["en"])
    return _formatted(day, language, pattern)


@lru_cache(maxsize=4096)
def _formatted(day: date, language: str, pattern: str) -> str:
    """Babel formats a date in ~0.1 ms: a Week grid names its 7 days 336 times."""
    return i18n.format_date(day, language, pattern)


def day_label(day: date) -> str:
    """"Tuesday 3 March" (SPEC §4's example label); "mardi 3 mars", "Dienstag, 3. März"."""
    return _date(day, DAY_PATTERN)


def status_word(status: str | None) -> str:
    return str(STATUS_WORDS.get(status or "", status or ""))


def view_title(view: str, anchor: date) -> str:
    if view == "day":
        return f"{day_label(anchor)} {anchor.year}"
    if view == "week":
        monday = view_days("week", anchor)[0]
        sunday = monday + timedelta(days=6)
        return _("Week of %(first)s – %(last)s", first=_date(monday, {"en": "d MMMM", "fr": "d MMMM", "de": "d. MMMM"}),
                 last=_date(sunday, {"en": "d MMMM y", "fr": "d MMMM y", "de": "d. MMMM y"}))
    return _date(anchor, "MMMM y")


def view_key(view: str, anchor: date, timezone: str, today: date) -> str:
    """Identifies a rendered grid: a refresh patches it only if the key is the same (same view,
    days, zone — and day: after midnight "today" moves, so the grid is rendered afresh)."""
    first = view_days(view, anchor)[0] if view != "month" else anchor.replace(day=1)
    return f"{view}:{first.isoformat()}:{timezone}:{today.isoformat()}"


# --- cells as data -------------------------------------------------------------------------------
# The grid travels as plain data in the CELLS store; doctor-calendar.js renders it (and diffs it
# against what it rendered last, so an update touches only the buttons that changed and focus
# stays where it is). Every word the page shows is made here, so it is translated with the rest.

def time_label(cell: Cell) -> str:
    label = cell.local.strftime("%H:%M")
    return _("%(time)s (second time, after the clocks go back)", time=label) if cell.repeated else label


def cell_label(cell: Cell) -> str:
    """"Tuesday 3 March, 14:30, available — press to turn off" and its siblings."""
    where = f"{day_label(cell.local.date())}, {time_label(cell)}"
    if cell.state == BOOKED:
        what = _("booked by %(name)s (%(status)s)", name=cell.patient_name,
                 status=status_word(cell.appointment_status))
    elif cell.state == HELD:
        what = _("held — a patient is paying for this time right now")
    else:
        what = str(STATE_WORDS[cell.state])
        if cell.not_offered:
            what = _("%(state)s, not offered to patients: %(reason)s", state=what,
                     reason=_(cell.not_offered))  # a reason marked in core
    if cell.past:
        return _("%(when)s, past, %(what)s", when=where, what=what)
    if cell.state == BOOKED:
        return _("%(when)s, %(what)s — cancel the appointment to free this time", when=where, what=what)
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


def cell_data(cell: Cell) -> dict:
    """One button of the grid, as the script renders it: its start (what a press sends back), the
    state a press toggles, classes, ARIA label, and the visible name and hover tip if booked or held.
    Equal data, equal button: the now line is kept to the minute so the 30 s refresh does not
    resend every "now" cell."""
    data = {"start": cell.start.isoformat(), "state": cell.state if cell.pressable else f"{cell.state}-inert",
            "cls": cell_class(cell), "label": cell_label(cell), "pressable": cell.pressable}
    if cell.state == BOOKED:
        data["name"] = cell.patient_name
        data["tip"] = f"{cell.patient_name} · {status_word(cell.appointment_status)}"
    elif cell.state == HELD:
        data["name"] = _("Held")
    if cell.now_fraction is not None:
        data["now"] = f"{int(cell.now_fraction * 30) / 30 * 100:.1f}%"
    return data


def gap_data(day: date, key: str) -> dict:
    """A time the day does not have (the clocks go forward): a dash, and a sentence for screen readers."""
    return {"gap": _("No %(time)s on %(day)s: the clocks go forward", time=key, day=day_label(day))}


def grid_rows(days: list[DayColumn]) -> list[tuple[str, list[Cell | None]]]:
    """Rows by wall-clock time across the days; a day without that time (clocks forward) gets None."""
    keys = sorted({c.row_key for d in days for c in d.cells}, key=row_order)
    by_day = [{c.row_key: c for c in d.cells} for d in days]
    return [(key, [cells.get(key) for cells in by_day]) for key in keys]


def _column(day: date, today: date, view: str) -> dict:
    column = {"label": day_label(day), "weekend": day.weekday() >= 5, "today": day == today}
    if view != "day":
        column["short"] = [_date(day, "EEE"), _date(day, SHORT_DATE)]
    return column


def grid_data(view: str, calendar: CalendarView, key: str, today: date) -> dict:
    """The Day or Week grid as data: columns (days), rows (wall-clock times) and the cells row by
    row — `cells[row * len(cols) + col]`, a gap where a day lacks the time."""
    rows = grid_rows(calendar.days)
    cells = [gap_data(calendar.days[c].day, row_key) if cell is None else cell_data(cell)
             for row_key, row in rows for c, cell in enumerate(row)]
    return {"key": key, "view": view, "corner": _("Time"), "again": " " + _("(again)"),
            "cols": [_column(d.day, today, view) for d in calendar.days],
            "rows": [{"time": k[:-1], "again": True} if k.endswith("+") else {"time": k} for k, _cells in rows],
            "cells": cells}


def month_label(summary: DaySummary) -> str:
    booked = ngettext("%(num)s booked", "%(num)s booked", summary.booked)
    if summary.past:
        return _("%(day)s: past, %(booked)s — press to open the day", day=day_label(summary.day), booked=booked)
    # The count is of starts patients are offered that day: the number their list shows.
    return _("%(day)s: %(open)s, %(booked)s — press to open the day", day=day_label(summary.day),
             open=_("%(n)s times patients can book", n=summary.available), booked=booked)


def month_day_data(summary: DaySummary, anchor: date, today: date) -> dict:
    classes = ["dk-cal-month-day"]
    classes += ["is-outside"] if summary.day.month != anchor.month else []
    classes += ["is-weekend"] if summary.day.weekday() >= 5 else []
    classes += ["is-past"] if summary.past else []
    classes += ["is-today"] if summary.day == today else []
    data = {"day": summary.day.isoformat(), "number": str(summary.day.day), "cls": " ".join(classes),
            "label": month_label(summary), "booked": ngettext("%(num)s booked", "%(num)s booked", summary.booked),
            "today": summary.day == today}
    if not summary.past:
        data["open"] = _("%(n)s bookable", n=summary.available)
    return data


def month_data(anchor: date, summaries: list[DaySummary], key: str, today: date) -> dict:
    """The Month overview as data: whole weeks, each day a button that opens its Day view."""
    return {"key": key, "view": "month",
            "cols": [{"short": _date(s.day, "EEE"), "label": _date(s.day, "EEEE")} for s in summaries[:7]],
            "cells": [month_day_data(s, anchor, today) for s in summaries]}


# --- partial updates -----------------------------------------------------------------------------

def digest(entry: dict) -> str:
    """Short and stable: equal entries, equal digests (what the page holds, to say what changed)."""
    return format(zlib.crc32(json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()), "08x")


def digests(data: dict) -> list[str]:
    return [digest(entry) for entry in data["cells"]]


def changed_entries(data: dict, old: list | None) -> list[int] | None:
    """Indexes of the entries that differ from the digests on the page; None when the page holds
    another shape (render anew)."""
    if not isinstance(old, list) or len(old) != len(data["cells"]):
        return None
    return [i for i, entry in enumerate(data["cells"]) if digest(entry) != old[i]]


def entry_patches(entries: dict[int, dict]) -> tuple[Patch, Patch]:
    """Patches of the CELLS store and of its digests that set only these entries."""
    cells, sums = Patch(), Patch()
    for index, entry in entries.items():
        cells["cells"][index] = entry
        sums[index] = digest(entry)
    return cells, sums


MAX_ROWS = 50  # 48 half hours, 50 on the day the clocks go back


def cell_index(data_rc: str | None, columns: int) -> int:
    """The entry a press's "row,col" names (ValueError if it names none)."""
    row, col = (int(x) for x in str(data_rc or "").split(","))
    if not 0 <= row < MAX_ROWS or not 0 <= col < columns:
        raise ValueError("no such cell")
    return row * columns + col


def locate(calendar: CalendarView, start: datetime) -> tuple[int, int, Cell] | None:
    for r, (_row_key, cells) in enumerate(grid_rows(calendar.days)):
        for c, cell in enumerate(cells):
            if cell is not None and cell.start == start:
                return r, c, cell
    return None


def press_message(cell: Cell) -> str:
    when = f"{day_label(cell.local.date())}, {time_label(cell)}"
    if cell.state == AVAILABLE:
        if cell.not_offered:
            return _("%(when)s is now available (not offered to patients: %(reason)s).", when=when,
                     reason=_(cell.not_offered))
        return _("%(when)s is now available.", when=when)
    if cell.state == UNAVAILABLE:
        return _("%(when)s is now unavailable.", when=when)
    return _("%(when)s is %(state)s.", when=when, state=STATE_WORDS[cell.state])


def zone_label(timezone: str, now: datetime) -> str:
    """"Europe/Paris (UTC+01:00)" — the offset of now, which changes with DST."""
    offset = now.astimezone(ZoneInfo(timezone)).strftime("%z")
    return f"{timezone} (UTC{offset[:3]}:{offset[3:]})"
