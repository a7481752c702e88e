"""Support due times (issue 25): Premium within 4 working hours, others within 2 working days;
working hours Mon–Fri 09:00–18:00 Europe/Paris without the public holidays."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from core.config import FRENCH_HOLIDAYS_2026_2027, Settings
from core.support.due import due_at

PARIS = ZoneInfo("Europe/Paris")
HOLIDAYS = Settings.from_env({"DOKTU_ENV": "test"}).support_holidays


def paris(month, day, hour, minute=0, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_within_working_hours_premium_is_due_4_hours_later_and_others_2_working_days():
    tuesday = paris(3, 3, 10)
    assert due_at(tuesday, priority=True, holidays=()) == paris(3, 3, 14)
    assert due_at(tuesday, priority=False, holidays=()) == paris(3, 5, 10)  # Thursday 10:00
    assert due_at(paris(3, 3, 16), priority=True, holidays=()) == paris(3, 4, 11)  # 2 h today, 2 h tomorrow


def test_across_a_weekend():
    assert due_at(paris(3, 6, 16), priority=True, holidays=()) == paris(3, 9, 11)  # Friday 16:00 → Monday 11:00
    assert due_at(paris(3, 6, 20), priority=True, holidays=()) == paris(3, 9, 13)  # Friday evening → Monday 13:00
    assert due_at(paris(3, 7, 12), priority=False, holidays=()) == paris(3, 10, 18)  # Saturday → Tuesday 18:00
    assert due_at(paris(3, 9, 7), priority=True, holidays=()) == paris(3, 9, 13)  # before opening


def test_across_a_public_holiday():
    assert date(2026, 5, 1) in HOLIDAYS and date(2026, 5, 14) in HOLIDAYS  # the default: French holidays
    # Thursday 30 April 17:00: 1 h that day, Friday 1 May is Labour Day, the weekend → Monday 4 May 12:00.
    assert due_at(paris(4, 30, 17), priority=True, holidays=HOLIDAYS) == paris(5, 4, 12)
    assert due_at(paris(4, 30, 17), priority=True, holidays=()) == paris(5, 1, 12)
    # Ascension (Thursday 14 May) in the middle of two working days.
    assert due_at(paris(5, 13, 9), priority=False, holidays=HOLIDAYS) == paris(5, 15, 18)


def test_across_the_dst_changes():
    # Clocks go forward on Sunday 29 March 2026: Friday 17:00 CET + 4 h → Monday 12:00 CEST (10:00 UTC).
    due = due_at(paris(3, 27, 17), priority=True, holidays=())
    assert due == paris(3, 30, 12) and due.astimezone(UTC) == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
    # And back on Sunday 25 October: Friday 16:00 CEST + 2 working days → Tuesday 16:00 CET (15:00 UTC).
    due = due_at(paris(10, 23, 16), priority=False, holidays=())
    assert due == paris(10, 27, 16) and due.astimezone(UTC) == datetime(2026, 10, 27, 15, 0, tzinfo=UTC)
    # A UTC input gives the same answer as its Paris wall time.
    assert due_at(datetime(2026, 3, 27, 16, 0, tzinfo=UTC), priority=True, holidays=()) == paris(3, 30, 12)


def test_the_holiday_setting_is_a_list_of_iso_dates():
    assert len(FRENCH_HOLIDAYS_2026_2027.split(",")) == 22
    assert Settings.from_env({"DOKTU_ENV": "test", "SUPPORT_HOLIDAYS": "2026-12-24, 2026-12-31"}).support_holidays \
        == (date(2026, 12, 24), date(2026, 12, 31))
    import pytest

    from core.config import ConfigError
    with pytest.raises(ConfigError):
        Settings.from_env({"DOKTU_ENV": "test", "SUPPORT_HOLIDAYS": "25/12/2026"})
