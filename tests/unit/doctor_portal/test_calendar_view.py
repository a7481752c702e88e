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
    data = cv.cell_data(cell)
    assert data["pressable"] is False and data["state"] == "booked-inert"
    assert (data["name"], data["tip"]) == ("Noor Haddad", "Noor Haddad · confirmed")


def test_pressable_cells_carry_what_the_script_needs():
    data = cv.cell_data(cell_at(week(), 3, 14, 30))  # an offered start (the 45-minute rhythm from 10:00)
    assert data == {"start": datetime(2026, 3, 3, 14, 30, tzinfo=PARIS).astimezone(UTC).isoformat(),
                    "state": "available", "pressable": True, "cls": "dk-cal-cell dk-cal-cell--available",
                    "label": "Tuesday 3 March, 14:30, available — press to turn off"}
    assert datetime.fromisoformat(data["start"]) == datetime(2026, 3, 3, 14, 30, tzinfo=PARIS)


def test_week_grid_is_data_with_one_row_per_half_hour():
    data = cv.grid_data("week", week(), "week:key", date(2026, 3, 2))
    assert data["key"] == "week:key" and data["view"] == "week"
    assert len(data["rows"]) == 48 and len(data["cells"]) == 48 * 7 and data["rows"][0] == {"time": "00:00"}
    assert data["cols"][0] == {"label": "Monday 2 March", "weekend": False, "today": True, "short": ["Mon", "2 Mar"]}
    assert data["cols"][5]["weekend"] and not data["cols"][1]["today"]
    assert data["cells"][29 * 7 + 1]["label"] == "Tuesday 3 March, 14:30, available — press to turn off"


def test_spring_forward_week_shows_a_gap_not_a_button():
    view = week(monday=date(2026, 3, 23), now=datetime(2026, 3, 20, tzinfo=PARIS))
    rows = dict(cv.grid_rows(view.days))
    assert rows["02:00"][6] is None  # Sunday 29 March has no 02:00
    data = cv.grid_data("week", view, "k", date(2026, 3, 20))
    gaps = [entry["gap"] for entry in data["cells"] if "gap" in entry]
    assert gaps == ["No 02:00 on Sunday 29 March: the clocks go forward",
                    "No 02:30 on Sunday 29 March: the clocks go forward"]


def test_fall_back_rows_say_again():
    view = week(monday=date(2026, 10, 19), now=datetime(2026, 10, 20, tzinfo=PARIS))
    data = cv.grid_data("week", view, "k", date(2026, 10, 20))
    assert {"time": "02:00", "again": True} in data["rows"] and len(data["rows"]) == 50


def test_a_changed_cell_becomes_a_patch_of_that_entry_only():
    sums = cv.Grid("week", week(), "k", date(2026, 3, 2)).digests()
    turned_off = datetime(2026, 3, 3, 14, tzinfo=PARIS)
    grid = cv.Grid("week", week(slots=[SlotRow(turned_off, turned_off + timedelta(minutes=30), False, True, False)]),
                   "k", date(2026, 3, 2))
    after, after_sums = grid.data(), grid.digests()
    changed = cv.changed_entries(after_sums, sums)
    # 14:00 itself, and 13:30 whose 13:45 start would now overlap the closed time (no longer offered)
    assert changed == [27 * 7 + 1, 28 * 7 + 1]
    assert after["cells"][27 * 7 + 1]["state"] == "available" and "is-not-offered" in after["cells"][27 * 7 + 1]["cls"]
    cells, sum_patch = cv.entry_patches({i: (grid.entry(i), after_sums[i]) for i in changed})
    assert isinstance(cells, Patch) and isinstance(sum_patch, Patch)
    assert cells.to_plotly_json()["operations"] == [
        {"operation": "Assign", "location": ["cells", i], "params": {"value": after["cells"][i]}} for i in changed]
    assert after["cells"][28 * 7 + 1]["label"] == "Tuesday 3 March, 14:00, unavailable — press to turn on"
    assert sum_patch.to_plotly_json()["operations"] == [
        {"operation": "Assign", "location": [i], "params": {"value": after_sums[i]}} for i in changed]


def test_nothing_changed_means_nothing_sent():
    sums = cv.Grid("week", week(), "k", date(2026, 3, 2)).digests()
    assert cv.changed_entries(sums, list(sums)) == []
    assert cv.changed_entries(sums, sums[:-1]) is None  # another shape: render anew
    assert cv.changed_entries(sums, None) is None


def varied_weeks() -> list[CalendarView]:
    """Weeks that differ cell by cell in every way an entry can: bookings (names, statuses), holds,
    turned-off and explicit slots, the now line's minute, past and future, a busy time."""
    monday = date(2026, 3, 2)
    at = lambda day, hour, minute=0: datetime(2026, 3, day, hour, minute, tzinfo=PARIS)  # noqa: E731
    half = timedelta(minutes=30)
    weeks = []
    for i, (name, status) in enumerate([("Noor Haddad", "confirmed"), ("Noor Haddad", "paid"),
                                        ("Jan Novak", "confirmed"), ("Jan Novak", "completed")]):
        booked = [BookedRow(uuid.UUID(int=1), at(3, 14), at(3, 14) + half, status, name),
                  BookedRow(uuid.UUID(int=2), at(2, 7), at(2, 7) + half, "completed", name)]
        slots = [SlotRow(at(4, 11 + i), at(4, 11 + i) + half, False, True, False),
                 SlotRow(at(5, 9), at(5, 9) + half, True, True, i % 2 == 0),
                 SlotRow(at(6, 22), at(6, 22) + half, True, True, False)]
        now = datetime(2026, 3, 2, 8, 3 * i, tzinfo=PARIS)
        days = [monday + timedelta(days=d) for d in range(7)]
        busy = [(at(7, 15), at(7, 16))] if i % 2 else []
        weeks.append(CalendarView("Europe/Paris", i != 3, now, [
            day_cells(PARIS, d, slots=slots, booked=booked, busy=busy, now=now, online=i != 3) for d in days]))
    return weeks


def test_equal_digests_mean_equal_entries():
    """The digest is made from the cells' fields, not from their entries: it must change exactly
    when the entry does, or a tick would miss a change (or resend what did not change)."""
    grids = [cv.Grid("week", view, "k", date(2026, 3, 2)) for view in varied_weeks()]
    entries = [grid.data()["cells"] for grid in grids]
    sums = [grid.digests() for grid in grids]
    differing = 0
    for a in range(len(grids)):
        for b in range(a + 1, len(grids)):
            for i in range(len(sums[a])):
                assert (sums[a][i] == sums[b][i]) == (entries[a][i] == entries[b][i]), (a, b, i, entries[a][i])
                differing += sums[a][i] != sums[b][i]
    assert differing > 20  # the weeks do differ, in many cells


def test_labels_made_once_per_kind_read_as_if_made_per_cell():
    """A grid's entries, with its words shared between cells of a kind, equal entries made one by one."""
    for view in varied_weeks():
        grid = cv.Grid("week", view, "k", date(2026, 3, 2))
        shared = grid.data()["cells"]
        alone = [cv.gap_data(day, key) if cell is None else cv.cell_data(cell) for day, key, cell in grid.slots]
        assert shared == alone
        assert len(grid.labels._kinds) < 30  # a few dozen kinds for 336 cells


def test_the_language_is_part_of_the_digest():
    cell = cell_at(week(), 3, 14, 30)
    assert cv.cell_digest(cell, "en") != cv.cell_digest(cell, "fr")


def test_the_now_line_moves_within_its_cell():
    now = datetime(2026, 3, 2, 14, 15, tzinfo=PARIS)
    cell = cell_at(week(now=now), 2, 14)
    data = cv.cell_data(cell)
    assert data["now"] == "50.0%" and "is-now" in data["cls"]
    later = cell_at(week(now=now + timedelta(minutes=6)), 2, 14)
    assert cv.cell_data(later)["now"] == "70.0%" and cv.cell_digest(later, "en") != cv.cell_digest(cell, "en")
    same_minute = cell_at(week(now=now + timedelta(seconds=20)), 2, 14)
    # the 30 s refresh does not resend an unmoved line
    assert cv.cell_digest(same_minute, "en") == cv.cell_digest(cell, "en")


def test_a_press_names_its_entry():
    assert cv.cell_index("28,1", 7) == 28 * 7 + 1
    assert cv.cell_index("3,0", 1) == 3
    for bad in ("28,7", "-1,0", "99,0", "x", None):
        try:
            cv.cell_index(bad, 7)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} named an entry")


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
    data = cv.month_data(date(2026, 3, 1), summaries, "month:k", date(2026, 3, 2))
    assert data["cols"][0] == {"short": "Mon", "label": "Monday"} and len(data["cells"]) == 35
    first = data["cells"][0]
    assert first["day"] == "2026-02-23" and "open" not in first
    assert first["label"] == "Monday 23 February: past, 1 booked — press to open the day"
    assert "is-outside" in first["cls"] and "is-past" in first["cls"]
    later = data["cells"][8]
    assert later["label"] == "Tuesday 3 March: 20 times patients can book, 1 booked — press to open the day"
    assert (later["open"], later["booked"]) == ("20 bookable", "1 booked")
    assert data["cells"][7]["today"] and "is-today" in data["cells"][7]["cls"]


def test_zone_label_follows_daylight_saving():
    assert cv.zone_label("Europe/Paris", datetime(2026, 1, 10, tzinfo=UTC)) == "Europe/Paris (UTC+01:00)"
    assert cv.zone_label("Europe/Paris", datetime(2026, 7, 10, tzinfo=UTC)) == "Europe/Paris (UTC+02:00)"
