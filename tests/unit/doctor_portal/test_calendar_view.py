"""The Day/Week/Month components (SPEC §4): ARIA labels, keyboard hooks, DST rows, partial updates."""

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dash import Patch

from core.scheduling.doctor_calendar import (
    BookedRow,
    CalendarView,
    DaySummary,
    SlotRow,
    day_cells,
)
from portals.doctor import calendar_view as cv

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)


def week(slots=(), booked=(), now=NOW, monday=date(2026, 3, 2)) -> CalendarView:
    days = [monday + timedelta(days=i) for i in range(7)]
    return CalendarView("Europe/Paris", True, now, [
        day_cells(PARIS, d, slots=list(slots), booked=list(booked), busy=[], now=now) for d in days])


def cell_at(view: CalendarView, day: int, hour: int, minute: int = 0):
    start = datetime(2026, 3, day, hour, minute, tzinfo=PARIS)
    return cv.locate(view, start)[2]


def test_labels_read_like_the_spec():
    view = week()
    assert cv.cell_label(cell_at(view, 3, 14, 30)) == "Tuesday 3 March, 14:30, available — press to turn off"
    assert cv.cell_label(cell_at(view, 3, 9)) == "Tuesday 3 March, 09:00, unavailable — press to turn on"
    assert cv.cell_label(cell_at(view, 2, 7)) == "Monday 2 March, 07:00, past, unavailable"


def test_booked_label_names_the_patient_and_the_way_out():
    start = datetime(2026, 3, 3, 14, tzinfo=PARIS)
    view = week(booked=[BookedRow(uuid.uuid4(), start, start + timedelta(minutes=30), "confirmed", "Noor Haddad")])
    cell = cell_at(view, 3, 14)
    assert cv.cell_label(cell) == ("Tuesday 3 March, 14:00, booked by Noor Haddad (confirmed) — "
                                   "cancel the appointment to free this time")
    props = cv.cell_props(cell)
    assert props["aria-disabled"] == "true" and props["data-state"] == "booked-inert"
    tip = [c["props"] for c in props["children"] if c["props"].get("className") == "dk-cal-tip"]
    assert tip == [{"children": "Noor Haddad · confirmed", "className": "dk-cal-tip", "aria-hidden": "true"}]


def test_pressable_cells_carry_what_the_script_needs():
    button = cv.cell_button(cell_at(week(), 3, 14), 28, 1)
    assert (button["type"], button["namespace"]) == ("Button", "dash_html_components")
    data = button["props"]
    assert data["id"] == "doctor-cell-28-1"
    assert data["data-rc"] == "28,1" and data["data-state"] == "available" and data["aria-disabled"] == "false"
    assert datetime.fromisoformat(data["data-start"]) == datetime(2026, 3, 3, 14, tzinfo=PARIS)
    assert data["type"] == "button" and data["disable_n_clicks"] is True


def test_week_grid_is_a_labelled_grid_with_one_row_per_half_hour():
    children, sigs = cv.render_grid("week", week(), "week:key", date(2026, 3, 2))
    table = children[0].to_plotly_json()["props"]
    assert table["role"] == "grid" and table["aria-labelledby"] == "doctor-cal-title"
    assert table["data-key"] == "week:key"
    body = table["children"][1].children
    assert len(body) == 48 and len(sigs) == 48 * 7
    first_row = body[0]["props"]["children"]
    assert first_row[0]["props"] == {"children": "00:00", "scope": "row"} and len(first_row) == 8


def test_spring_forward_week_shows_a_gap_not_a_button():
    view = week(monday=date(2026, 3, 23), now=datetime(2026, 3, 20, tzinfo=PARIS))
    rows = dict(cv.grid_rows(view.days))
    assert rows["02:00"][6] is None  # Sunday 29 March has no 02:00
    _children, sigs = cv.render_grid("week", view, "k", date(2026, 3, 20))
    assert sigs.count("-") == 2


def test_a_changed_cell_becomes_one_set_props_and_a_signature_patch():
    before = week()
    _, sigs = cv.render_grid("week", before, "k", date(2026, 3, 2))
    turned_off = datetime(2026, 3, 3, 14, tzinfo=PARIS)
    after = week(slots=[SlotRow(turned_off, turned_off + timedelta(minutes=30), False, True, False)])
    changed = cv.diff_cells(after, sigs)
    # 14:00 itself, and 13:30 whose 13:45 start would now overlap the closed time (no longer offered)
    assert [(r, c, x.state, x.not_offered is None) for r, c, x in changed] == [
        (27, 1, "available", False), (28, 1, "unavailable", True)]
    updates, sig_patch = cv.cell_updates(changed, 7)
    assert updates[1][0] == "doctor-cell-28-1"
    assert updates[1][1]["aria-label"] == "Tuesday 3 March, 14:00, unavailable — press to turn on"
    assert isinstance(sig_patch, Patch)
    assert sig_patch.to_plotly_json()["operations"] == [
        {"operation": "Assign", "location": [r * 7 + 1], "params": {"value": cv.cell_signature(x)}}
        for r, _, x in changed]


def test_nothing_changed_means_nothing_sent():
    view = week()
    _, sigs = cv.render_grid("week", view, "k", date(2026, 3, 2))
    assert cv.diff_cells(view, sigs) == []
    assert cv.diff_cells(view, sigs[:-1]) is None  # another shape: render anew


def test_the_now_line_moves_within_its_cell():
    now = datetime(2026, 3, 2, 14, 15, tzinfo=PARIS)
    cell = cell_at(week(now=now), 2, 14)
    line = next(c["props"] for c in cv.cell_children(cell) if c["props"].get("className") == "dk-cal-now")
    assert line["style"] == {"top": "50.0%"}
    later = cell_at(week(now=now + timedelta(minutes=6)), 2, 14)
    assert cv.cell_signature(later) != cv.cell_signature(cell)


def test_navigation_moves_by_day_week_and_month():
    anchor = date(2026, 1, 31)
    assert cv.shift_anchor("day", anchor, 1) == date(2026, 2, 1)
    assert cv.shift_anchor("week", anchor, -1) == date(2026, 1, 24)
    assert cv.shift_anchor("month", anchor, 1) == date(2026, 2, 1)
    assert cv.shift_anchor("month", date(2026, 12, 5), 1) == date(2027, 1, 1)
    assert cv.parse_nav({"view": "nonsense", "anchor": "x"}, anchor) == ("week", anchor)
    assert cv.view_days("week", date(2026, 3, 5))[0] == date(2026, 3, 2)


def test_month_day_buttons_open_the_day():
    summaries = [DaySummary(date(2026, 2, 23) + timedelta(days=i), 20, 1, i < 7) for i in range(35)]
    table = cv.render_month(date(2026, 3, 1), summaries, "month:k", date(2026, 3, 2))[0]
    first_week = table.children[1].children[0].children
    button = first_week[0].children.to_plotly_json()["props"]
    assert button["data-open-day"] == "2026-02-23"
    assert button["aria-label"] == "Monday 23 February: past, 1 booked — press to open the day"
    later = table.children[1].children[1].children[1].children.to_plotly_json()["props"]
    assert later["aria-label"] == "Tuesday 3 March: 20 times patients can book, 1 booked — press to open the day"


def test_zone_label_follows_daylight_saving():
    assert cv.zone_label("Europe/Paris", datetime(2026, 1, 10, tzinfo=UTC)) == "Europe/Paris (UTC+01:00)"
    assert cv.zone_label("Europe/Paris", datetime(2026, 7, 10, tzinfo=UTC)) == "Europe/Paris (UTC+02:00)"
