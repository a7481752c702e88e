"""The console's date filter in Europe/Paris days (SPEC §9): midnight edges, and the DST change days
(29 March 2026 lasts 23 hours in Paris, 25 October 2026 lasts 25)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.metrics.periods import RANGE_NAMES, Period, local_midnight, period_for

PARIS = ZoneInfo("Europe/Paris")


def paris(*args, **kwargs) -> datetime:
    return datetime(*args, tzinfo=PARIS, **kwargs)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_today_is_the_paris_day_from_midnight_to_midnight():
    period = period_for("today", paris(2026, 6, 10, 14, 30))
    assert (period.first_day, period.days) == (date(2026, 6, 10), 1)
    assert period.start == utc(2026, 6, 9, 22) and period.end == utc(2026, 6, 10, 22)


def test_midnight_belongs_to_the_day_it_starts():
    assert period_for("today", paris(2026, 6, 10, 0, 0)).first_day == date(2026, 6, 10)
    assert period_for("today", paris(2026, 6, 10) - timedelta(microseconds=1)).first_day == date(2026, 6, 9)


def test_the_day_is_paris_not_utc():
    # 23:30 UTC on 9 June is 01:30 on 10 June in Paris.
    assert period_for("today", utc(2026, 6, 9, 23, 30)).first_day == date(2026, 6, 10)
    assert period_for("yesterday", utc(2026, 6, 9, 23, 30)).first_day == date(2026, 6, 9)


def test_spring_change_day_lasts_23_hours_and_is_compared_with_the_24_hour_day_before():
    period = period_for("today", paris(2026, 3, 29, 12))
    assert period.start == utc(2026, 3, 28, 23) and period.end == utc(2026, 3, 29, 22)
    assert period.hours == 23
    previous = period.previous()
    assert (previous.first_day, previous.hours, previous.end) == (date(2026, 3, 28), 24, period.start)


def test_autumn_change_day_lasts_25_hours():
    period = period_for("today", paris(2026, 10, 25, 2, 30, fold=1))  # the second 02:30
    assert period.first_day == date(2026, 10, 25)
    assert period.start == utc(2026, 10, 24, 22) and period.end == utc(2026, 10, 25, 23)
    assert period.hours == 25


def test_yesterday_after_a_change_day():
    period = period_for("yesterday", paris(2026, 10, 26, 9))
    assert period.first_day == date(2026, 10, 25) and period.hours == 25
    assert period.previous().first_day == date(2026, 10, 24) and period.previous().hours == 24


def test_week_is_the_last_7_days_today_included_and_counts_real_hours():
    period = period_for("week", paris(2026, 3, 31, 8))
    assert (period.first_day, period.last_day, period.days) == (date(2026, 3, 25), date(2026, 3, 31), 7)
    assert period.hours == 7 * 24 - 1  # holds 29 March
    previous = period.previous()
    assert (previous.first_day, previous.last_day, previous.end) == (date(2026, 3, 18), date(2026, 3, 24),
                                                                      period.start)
    assert previous.hours == 7 * 24


def test_month_is_the_last_30_days_and_its_previous_period_the_30_before():
    period = period_for("month", paris(2026, 11, 5, 23, 59))
    assert (period.first_day, period.last_day) == (date(2026, 10, 7), date(2026, 11, 5))
    assert period.hours == 30 * 24 + 1  # holds 25 October
    assert period.previous().first_day == date(2026, 9, 7) and period.previous().days == 30


def test_periods_tile_the_calendar_without_gaps_or_overlaps():
    for name in RANGE_NAMES:
        period = period_for(name, paris(2026, 3, 30, 1))
        assert period.previous().end == period.start
        assert period.day_list()[0] == period.first_day and len(period.day_list()) == period.days


def test_local_midnight_is_an_utc_instant():
    assert local_midnight(date(2026, 1, 1)) == utc(2025, 12, 31, 23)
    assert local_midnight(date(2026, 7, 1)) == utc(2026, 6, 30, 22)


def test_descriptions_are_dates_people_read():
    assert period_for("today", paris(2026, 3, 30, 9)).describe() == "Mon 30 Mar 2026"
    assert period_for("week", paris(2026, 3, 30, 9)).describe() == "Tue 24 Mar – Mon 30 Mar 2026"
    assert Period("x", date(2025, 12, 30), 7).describe() == "Tue 30 Dec 2025 – Mon 5 Jan 2026"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown range"):
        period_for("quarter", paris(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        period_for("today", datetime(2026, 1, 1, 12))
