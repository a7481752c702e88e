"""The doctor calendar's cells (SPEC §4), as a pure rule: literal days in, literal states out."""

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.scheduling.doctor_calendar import (
    AVAILABLE,
    BOOKED,
    HELD,
    UNAVAILABLE,
    BookedRow,
    SlotRow,
    day_cells,
    month_days,
    row_order,
)

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = date(2026, 3, 3)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)  # Monday 08:00


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def slot(hour: int, minute: int = 0, *, available=True, explicit=True, held=False, day=TUESDAY) -> SlotRow:
    start = at(hour, minute, day)
    return SlotRow(start, start + timedelta(minutes=30), available, explicit, held)


def booking(hour: int, minute: int = 0, *, status="confirmed", name="Noor Haddad") -> BookedRow:
    start = at(hour, minute)
    return BookedRow(uuid.uuid4(), start, start + timedelta(minutes=30), status, name)


def cells(slots=(), booked=(), busy=(), now=NOW, day=TUESDAY):
    return day_cells(PARIS, day, slots=list(slots), booked=list(booked), busy=list(busy), now=now)


def states(column) -> dict[str, str]:
    return {c.local.strftime("%H:%M"): c.state for c in column.cells}


def test_a_day_has_48_half_hour_cells_from_midnight():
    column = cells()
    assert len(column.cells) == 48
    assert column.cells[0].local.strftime("%H:%M") == "00:00"
    assert column.cells[-1].local.strftime("%H:%M") == "23:30"
    assert all(c.end - c.start == timedelta(minutes=30) for c in column.cells)


def test_template_day_is_available_10_00_to_20_30():
    found = states(cells())
    assert [t for t, s in found.items() if s == AVAILABLE] == [f"{h:02d}:{m:02d}" for h in range(10, 21) for m in (0, 30)]
    assert found["09:30"] == found["21:00"] == UNAVAILABLE


def test_a_turned_off_slot_stays_off_on_a_template_day():
    found = states(cells([slot(14, available=False)]))
    assert found["14:00"] == UNAVAILABLE
    assert found["13:30"] == found["14:30"] == AVAILABLE


def test_explicit_day_offers_only_its_slots():
    column = cells([slot(8), slot(8, 30)])
    found = states(column)
    assert column.explicit
    assert [t for t, s in found.items() if s == AVAILABLE] == ["08:00", "08:30"]
    assert found["10:00"] == UNAVAILABLE


def test_a_row_materialised_by_a_patients_hold_is_not_a_doctors_choice():
    found = states(cells([slot(12, explicit=False, held=True)]))
    assert found["12:00"] == HELD
    assert found["10:00"] == AVAILABLE  # still a template day


def test_booked_cell_names_the_patient_and_covers_overlapping_cells():
    column = cells(booked=[booking(14, 15)])
    by_time = {c.local.strftime("%H:%M"): c for c in column.cells}
    assert by_time["14:00"].state == by_time["14:30"].state == BOOKED
    assert by_time["14:00"].patient_name == "Noor Haddad"
    assert not by_time["14:00"].pressable


def test_cancelled_appointments_free_the_cell():
    found = states(cells(booked=[booking(14, status="cancelled")]))
    assert found["14:00"] == AVAILABLE


def test_cells_that_have_started_are_past_and_inert():
    now = at(14, 10)
    by_time = {c.local.strftime("%H:%M"): c for c in cells(now=now).cells}
    assert by_time["14:00"].past and not by_time["14:00"].pressable
    assert by_time["14:00"].now_fraction is not None and 0.3 < by_time["14:00"].now_fraction < 0.4
    assert not by_time["14:30"].past and by_time["14:30"].pressable


def test_available_cells_say_why_patients_are_not_offered_them():
    by_time = {c.local.strftime("%H:%M"): c for c in cells(booked=[booking(14)], now=at(10, 20)).cells}
    assert by_time["13:30"].not_offered == "within 45 minutes of a booking"
    assert by_time["14:30"].not_offered is None and by_time["14:30"].offered_starts == 1  # 14:45, the next start
    assert by_time["13:00"].not_offered is None
    assert by_time["11:00"].not_offered == "less than 60 minutes from now"
    assert by_time["15:00"].not_offered == "between two offered starts 45 minutes apart"
    held = {c.local.strftime("%H:%M"): c for c in cells([slot(17, explicit=False, held=True)]).cells}
    assert held["17:00"].state == HELD
    assert held["16:30"].not_offered == "within 45 minutes of a time a patient is paying for"
    assert held["17:30"].offered_starts == 1  # 17:45: the rhythm starts again after the hold
    offline = day_cells(PARIS, TUESDAY, slots=[], booked=[], busy=[], now=NOW, online=False)
    assert {c.not_offered for c in offline.cells if c.state == AVAILABLE} == {"you are Offline"}


def test_open_cells_follow_the_45_minute_rhythm_two_offered_then_one_between():
    column = cells()
    pattern = "".join("o" if c.offered_starts else "-" for c in column.cells if c.state == AVAILABLE)
    assert pattern == "oo-" * 7 + "o"  # 22 open cells, 15 offered starts: 10:00, 10:45, 11:30 …
    assert sum(c.offered_starts for c in column.cells) == 15
    busy = cells(busy=[(at(16), at(17))])
    assert {c.local.strftime("%H:%M"): c for c in busy.cells}["16:30"].not_offered == "busy in your external calendar"


def test_weekend_cells_are_marked():
    assert all(c.weekend for c in cells(day=date(2026, 3, 7)).cells)
    assert not any(c.weekend for c in cells().cells)


def test_spring_forward_day_has_46_cells_and_no_two_o_clock():
    day = date(2026, 3, 29)
    column = cells(day=day, now=NOW)
    labels = [c.row_key for c in column.cells]
    assert len(column.cells) == 46
    assert "02:00" not in labels and "02:30" not in labels
    assert labels[:4] == ["00:00", "00:30", "01:00", "01:30"] and labels[4] == "03:00"
    starts = [c.start.astimezone(UTC) for c in column.cells]
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(starts))


def test_fall_back_day_has_50_cells_and_the_repeated_hour_twice():
    day = date(2026, 10, 25)
    column = cells(day=day, now=NOW)
    labels = [c.row_key for c in column.cells]
    assert len(column.cells) == 50
    assert labels[4:8] == ["02:00", "02:30", "02:00+", "02:30+"]
    assert sorted(labels, key=row_order) == labels


def test_month_view_covers_whole_weeks_monday_first():
    days = month_days(2026, 3)
    assert days[0] == date(2026, 2, 23) and days[0].weekday() == 0
    assert days[-1] == date(2026, 4, 5) and days[-1].weekday() == 6
    assert len(days) % 7 == 0
