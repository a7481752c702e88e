"""The doctor calendar's Day, Week and Month views as data (SPEC §4; issues 8 and 22).

The grid is plain data in a `dcc.Store` (CELLS): columns, rows and one entry per cell with its
ARIA label, classes and state. `static/js/doctor-calendar.js` renders it through one clientside
callback and diffs it against what it rendered last, so an update changes only the buttons whose
entry changed (focus stays put); it also owns the keyboard (arrow keys, one tab stop per grid) and
turns a press into the PRESS store. After a press or a refresh only the changed entries go back, as
a `dash.Patch` of the store and of the entries' digests (DIGESTS: what the page holds, so the server
can tell what changed without the page sending the cells back). Digests are made from the cells'
fields, so the 30-second tick makes no words unless a cell changed; words are made once per kind
of cell (`Labels`), not per cell.

Plain functions over the calendar read model (`core.scheduling.doctor_calendar`), so they are
tested without a server.
"""

from __future__ import annotations

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
#
# A Week grid has 336 cells but only a few dozen kinds of label ("available — press to turn off",
# "booked by <name> (confirmed)", …): a `Labels` made once per answer asks the catalogs once per
# kind and fills in the day and time per cell, so a render costs a few catalog lookups instead of
# four per cell (a lookup through Flask-Babel is ~10 µs).

WHEN = "\x00"  # stands for "<day>, <time>" in a label made once per kind (no name holds NUL: PostgreSQL text cannot)


class Labels:
    """The words of one answer, in the page's language, each made once and reused for every cell
    of the same kind. Made per request (the language is the request's); not shared across them."""

    def __init__(self, language: str | None = None):
        self.language = language or current_language()
        self._kinds: dict[tuple, tuple[str, str | None]] = {}
        self._classes: dict[tuple, str] = {}
        self._times: dict[str, str] = {}
        self._days: dict[date, str] = {}
        self._status: dict[str | None, str] = {}

    def day(self, day: date) -> str:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = _formatted(day, self.language, DAY_PATTERN.get(self.language, DAY_PATTERN["en"]))
        return found

    def time(self, cell: Cell) -> str:
        key = row_key(cell)
        found = self._times.get(key)
        if found is None:
            label = key[:5]
            found = self._times[key] = (_("%(time)s (second time, after the clocks go back)", time=label)
                                        if cell.repeated else label)
        return found

    def when(self, cell: Cell) -> str:
        return f"{self.day(cell.local.date())}, {self.time(cell)}"

    def status(self, status: str | None) -> str:
        found = self._status.get(status)
        if found is None:
            found = self._status[status] = status_word(status)
        return found

    def kind(self, cell: Cell) -> tuple[str, str | None]:
        """(the label with WHEN for its day and time, the hover tip) of a cell's kind."""
        key = (cell.state, cell.past, cell.not_offered, cell.patient_name, cell.appointment_status)
        found = self._kinds.get(key)
        if found is None:
            found = self._kinds[key] = self._make_kind(cell)
        return found

    def _make_kind(self, cell: Cell) -> tuple[str, str | None]:
        tip = None
        if cell.state == BOOKED:
            status = self.status(cell.appointment_status)
            what = _("booked by %(name)s (%(status)s)", name=cell.patient_name, status=status)
            tip = f"{cell.patient_name} · {status}"
        elif cell.state == HELD:
            what = _("held — a patient is paying for this time right now")
        else:
            what = str(STATE_WORDS[cell.state])
            if cell.not_offered:
                what = _("%(state)s, not offered to patients: %(reason)s", state=what,
                         reason=_(cell.not_offered))  # a reason marked in core
        if cell.past:
            return _("%(when)s, past, %(what)s", when=WHEN, what=what), tip
        if cell.state == BOOKED:
            return _("%(when)s, %(what)s — cancel the appointment to free this time", when=WHEN, what=what), tip
        action = ACTIONS.get(cell.state)
        return (f"{WHEN}, {what} — {action}" if action else f"{WHEN}, {what}"), tip

    def label(self, cell: Cell) -> str:
        """"Tuesday 3 March, 14:30, available — press to turn off" and its siblings."""
        return self.kind(cell)[0].replace(WHEN, self.when(cell))

    def cls(self, cell: Cell) -> str:
        key = (cell.state, cell.past, cell.weekend, bool(cell.not_offered), cell.now_fraction is not None)
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = cell_class(cell)
        return found

    def entry(self, cell: Cell) -> dict:
        """One button of the grid, as the script renders it: its start (what a press sends back), the
        state a press toggles, classes, ARIA label, and the visible name and hover tip if booked or
        held. Equal data, equal button: the now line is kept to the minute so the 30 s refresh does
        not resend every "now" cell."""
        pressable = cell.pressable
        template, tip = self.kind(cell)
        data = {"start": cell.start.isoformat(), "state": cell.state if pressable else f"{cell.state}-inert",
                "cls": self.cls(cell), "label": template.replace(WHEN, self.when(cell)), "pressable": pressable}
        if cell.state == BOOKED:
            data["name"] = cell.patient_name
            data["tip"] = tip
        elif cell.state == HELD:
            data["name"] = _("Held")
        if cell.now_fraction is not None:
            data["now"] = f"{now_minute(cell) / 30 * 100:.1f}%"
        return data

    def gap(self, day: date, key: str) -> dict:
        """A time the day does not have (the clocks go forward): a dash, and a sentence for screen readers."""
        return {"gap": _("No %(time)s on %(day)s: the clocks go forward", time=key, day=self.day(day))}


def row_key(cell: Cell) -> str:
    """`Cell.row_key` without strftime (called for every cell of every answer)."""
    local = cell.local
    return f"{local.hour:02d}:{local.minute:02d}{'+' if local.fold else ''}"


def now_minute(cell: Cell) -> int | None:
    """The minute of the cell at which the now line stands (None: not in this cell)."""
    return None if cell.now_fraction is None else int(cell.now_fraction * 30)


def time_label(cell: Cell) -> str:
    return Labels().time(cell)


def cell_label(cell: Cell) -> str:
    """"Tuesday 3 March, 14:30, available — press to turn off" and its siblings."""
    return Labels().label(cell)


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


def cell_data(cell: Cell, labels: Labels | None = None) -> dict:
    """One cell's entry (`Labels.entry`); pass the answer's `labels` when making many."""
    return (labels or Labels()).entry(cell)


def gap_data(day: date, key: str) -> dict:
    return Labels().gap(day, key)


def grid_rows(days: list[DayColumn]) -> list[tuple[str, list[Cell | None]]]:
    """Rows by wall-clock time across the days; a day without that time (clocks forward) gets None."""
    by_day = [{row_key(c): c for c in d.cells} for d in days]
    keys = sorted({key for cells in by_day for key in cells}, key=row_order)
    return [(key, [cells.get(key) for cells in by_day]) for key in keys]


def _column(day: date, today: date, view: str, labels: Labels) -> dict:
    column = {"label": labels.day(day), "weekend": day.weekday() >= 5, "today": day == today}
    if view != "day":
        column["short"] = [_formatted(day, labels.language, "EEE"),
                           _formatted(day, labels.language, SHORT_DATE.get(labels.language, SHORT_DATE["en"]))]
    return column


# --- digests -------------------------------------------------------------------------------------
# The page holds one short digest per entry (DIGESTS), so the server can tell which entries
# changed without the page sending the cells back. A digest is made from the cell's raw fields —
# everything its entry is made of, and the language its words are in — not from the entry itself,
# so the 30-second tick builds no label at all unless something changed.

def _crc(text: str) -> str:
    return format(zlib.crc32(text.encode()), "08x")


def cell_digest(cell: Cell, language: str) -> str:
    """Equal fields, equal entry, equal digest (the now line counts to the minute)."""
    return _crc(f"{language}|{int(cell.start.timestamp())}|{cell.state}|{cell.past:d}|{cell.weekend:d}|"
                f"{cell.not_offered or ''}|{now_minute(cell)}|{cell.patient_name or ''}|"
                f"{cell.appointment_status or ''}")


def gap_digest(day: date, key: str, language: str) -> str:
    return _crc(f"{language}|gap|{day.isoformat()}|{key}")


def month_digest(summary: DaySummary, language: str) -> str:
    return _crc(f"{language}|{summary.day.isoformat()}|{summary.available}|{summary.booked}|{summary.past:d}")


class Grid:
    """A Day or Week grid about to be answered: its digests cost no words; `entries(indexes)`
    makes only the entries asked for, `data()` the whole grid."""

    def __init__(self, view: str, calendar: CalendarView, key: str, today: date, labels: Labels | None = None):
        self.view, self.calendar, self.key, self.today = view, calendar, key, today
        self.labels = labels or Labels()
        self.rows = grid_rows(calendar.days)
        # Entry order: row by row, `cells[row * len(cols) + col]`; a day lacking the time is a gap.
        self.slots = [(calendar.days[c].day, key_, cell) for key_, row in self.rows for c, cell in enumerate(row)]

    def digests(self) -> list[str]:
        language = self.labels.language
        return [gap_digest(day, key, language) if cell is None else cell_digest(cell, language)
                for day, key, cell in self.slots]

    def entry(self, index: int) -> dict:
        day, key, cell = self.slots[index]
        return self.labels.gap(day, key) if cell is None else self.labels.entry(cell)

    def data(self) -> dict:
        """The Day or Week grid as data: columns (days), rows (wall-clock times) and the cells row
        by row — `cells[row * len(cols) + col]`, a gap where a day lacks the time."""
        return {"key": self.key, "view": self.view, "corner": _("Time"), "again": " " + _("(again)"),
                "cols": [_column(d.day, self.today, self.view, self.labels) for d in self.calendar.days],
                "rows": [{"time": k[:-1], "again": True} if k.endswith("+") else {"time": k} for k, _c in self.rows],
                "cells": [self.entry(i) for i in range(len(self.slots))]}


def grid_data(view: str, calendar: CalendarView, key: str, today: date) -> dict:
    return Grid(view, calendar, key, today).data()


def grid_digests(calendar: CalendarView) -> list[str]:
    """The digests of a Day or Week grid's entries (what the page holds beside them)."""
    return Grid("week", calendar, "", calendar.now.date()).digests()


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


class MonthGrid:
    """The Month overview about to be answered, like `Grid`: digests from the counts, entries on demand."""

    def __init__(self, anchor: date, summaries: list[DaySummary], key: str, today: date,
                 labels: Labels | None = None):
        self.anchor, self.summaries, self.key, self.today = anchor, summaries, key, today
        self.labels = labels or Labels()

    def digests(self) -> list[str]:
        return [month_digest(s, self.labels.language) for s in self.summaries]

    def entry(self, index: int) -> dict:
        return month_day_data(self.summaries[index], self.anchor, self.today)

    def data(self) -> dict:
        return month_data(self.anchor, self.summaries, self.key, self.today)


# --- partial updates -----------------------------------------------------------------------------

def changed_entries(new: list[str], old: list | None) -> list[int] | None:
    """Indexes of the entries whose digest differs from the one on the page; None when the page
    holds another shape (render anew)."""
    if not isinstance(old, list) or len(old) != len(new):
        return None
    return [i for i, (mine, theirs) in enumerate(zip(new, old, strict=True)) if mine != theirs]


def entry_patches(entries: dict[int, tuple[dict, str]]) -> tuple[Patch, Patch]:
    """Patches of the CELLS store and of its digests that set only these entries ({index: (entry, digest)})."""
    cells, sums = Patch(), Patch()
    for index, (entry, entry_digest) in entries.items():
        cells["cells"][index] = entry
        sums[index] = entry_digest
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
