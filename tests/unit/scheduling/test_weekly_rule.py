"""Weekly hours per doctor (SPEC §19): the pure rule and the engine following it, on both 2026
Paris DST Sundays (29 March: 02:00 → 03:00; 25 October: 03:00 → 02:00)."""

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import ValidationFailed
from core.scheduling.engine import DEFAULT_TEMPLATE, template_starts, unified_availability
from core.scheduling.weekly import (
    default_week,
    describe,
    minutes_per_weekday,
    parse_day_text,
    parse_weekly_hours,
    template_for,
    to_json,
)

PARIS = ZoneInfo("Europe/Paris")
SPLIT = {"mon": [["09:00", "12:30"], ["14:00", "18:00"]], "tue": [["08:00", "10:00"]],
         "sun": [["01:00", "04:00"]], "sat": [["22:00", "24:00"]]}


def day_starts(template, day: date) -> list[datetime]:
    start = datetime.combine(day, time(0), PARIS)
    return template_starts(PARIS, start, datetime.combine(day + timedelta(days=1), time(0), PARIS), template)


def walls(starts) -> list[str]:
    return [s.astimezone(PARIS).strftime("%H:%M") + ("+" if s.astimezone(PARIS).fold else "") for s in starts]


def test_parse_round_trips_and_sorts_ranges():
    week = parse_weekly_hours({"mon": [["14:00", "18:00"], ["09:00", "12:30"]]})
    assert week[0] == ((540, 750), (840, 1080))
    assert week[1:] == ((),) * 6
    assert to_json(week)["mon"] == [["09:00", "12:30"], ["14:00", "18:00"]]
    assert minutes_per_weekday(parse_weekly_hours(SPLIT)) == (450, 120, 0, 0, 0, 120, 180)
    assert describe(week)[0] == ("Monday", "09:00–12:30, 14:00–18:00")
    assert describe(week)[6] == ("Sunday", "Closed")


@pytest.mark.parametrize(("raw", "message"), [
    ({"mon": [["09:00", "12:00"], ["11:30", "13:00"]]}, "Monday: 11:30–13:00 overlaps"),
    ({"tue": [["09:00", "09:00"]]}, "at least 30 minutes"),
    ({"wed": [["12:00", "09:00"]]}, "at least 30 minutes"),
    ({"thu": [["9h", "12:00"]]}, "HH:MM"),
    ({"fri": [["09:10", "12:00"]]}, "half hours"),
    ({"fri": [["09:15", "12:00"]]}, "half hours"),
    ({"sat": [["24:00", "24:30"]]}, "at most 24:00"),
    ({"funday": []}, "Unknown weekday"),
    ({"mon": [["09:00"]]}, "a start and an end"),
    (["09:00"], "must map weekdays"),
])
def test_invalid_hours_are_refused_with_the_day_named(raw, message):
    with pytest.raises(ValidationFailed, match=message):
        parse_weekly_hours(raw)


def test_form_text_parses_ranges():
    assert parse_day_text("09:00-12:30, 14:00 – 18:00", "Monday") == [["09:00", "12:30"], ["14:00", "18:00"]]
    assert parse_day_text("  ", "Monday") == []
    with pytest.raises(ValidationFailed, match="Monday"):
        parse_day_text("09:00 to 12:00", "Monday")


def test_unset_hours_keep_the_default_and_default_week_matches_it():
    assert template_for(None) is DEFAULT_TEMPLATE
    assert template_for({"mon": [["10:00", "09:00"]]}) is DEFAULT_TEMPLATE  # corrupt: never closes a doctor
    assert day_starts(template_for(to_json(default_week())), date(2026, 3, 4)) == \
        day_starts(DEFAULT_TEMPLATE, date(2026, 3, 4))


def test_split_day_offers_each_range_and_nothing_between():
    template = template_for(SPLIT)
    monday = walls(day_starts(template, date(2026, 3, 2)))
    assert monday[:3] == ["09:00", "09:15", "09:30"]
    assert "12:00" in monday and "12:15" not in monday  # 12:00 + 30 min = 12:30, the range's end
    assert "13:45" not in monday and monday[monday.index("12:00") + 1] == "14:00"
    assert monday[-1] == "17:30"
    assert len(monday) == 13 + 15
    assert day_starts(template, date(2026, 3, 4)) == []  # Wednesday: closed
    saturday = walls(day_starts(template, date(2026, 3, 7)))
    assert saturday == ["22:00", "22:15", "22:30", "22:45", "23:00", "23:15", "23:30"]  # "24:00" = midnight


def test_spring_forward_sunday_skips_the_missing_hour():
    # 29 March 2026: 02:00–03:00 does not exist. Sunday hours 01:00–04:00 are two real hours:
    # 01:45 + 30 minutes of real time ends at 03:15 local, inside the hours; then 03:00…03:30.
    starts = day_starts(template_for(SPLIT), date(2026, 3, 29))
    assert walls(starts) == ["01:00", "01:15", "01:30", "01:45", "03:00", "03:15", "03:30"]
    assert [s.astimezone(UTC).strftime("%H:%M") for s in starts] == \
        ["00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30"]


def test_fall_back_sunday_offers_the_repeated_hour_twice():
    # 25 October 2026: 02:00–03:00 happens twice. Sunday hours 01:00–04:00 span four real hours.
    starts = day_starts(template_for(SPLIT), date(2026, 10, 25))
    assert walls(starts) == ["01:00", "01:15", "01:30", "01:45", "02:00", "02:15", "02:30", "02:45",
                             "02:00+", "02:15+", "02:30+", "02:45+", "03:00", "03:15", "03:30"]
    assert len(set(starts)) == 15
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(starts))


def test_engine_offers_only_the_doctors_hours_on_template_days():
    template = template_for({"tue": [["08:00", "09:00"]]})
    now = datetime(2026, 3, 1, 8, tzinfo=PARIS)
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=now,
                                  window_start=datetime(2026, 3, 2, tzinfo=PARIS),
                                  window_end=datetime(2026, 3, 9, tzinfo=PARIS), template=template, rhythm=False)
    assert [a.start.astimezone(PARIS).strftime("%a %H:%M") for a in result] == \
        ["Tue 08:00", "Tue 08:15", "Tue 08:30"]
    offered = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=now,
                                   window_start=datetime(2026, 3, 2, tzinfo=PARIS),
                                   window_end=datetime(2026, 3, 9, tzinfo=PARIS), template=template)
    assert [a.start.astimezone(PARIS).strftime("%a %H:%M") for a in offered] == ["Tue 08:00"]
