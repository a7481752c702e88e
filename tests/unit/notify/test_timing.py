"""Which reminder is due (24 h, 1 h, or none) at a given moment: a table of literal cases."""

from datetime import UTC, datetime, timedelta

import pytest

from core.notify.timing import due_reminder

START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
LONG_AGO = START - timedelta(days=10)
H, M = timedelta(hours=1), timedelta(minutes=1)


@pytest.mark.parametrize(("before_start", "scheduled_before_start", "expected"), [
    (25 * H, 10 * 24 * H, None),  # too early
    (24 * H + M, 10 * 24 * H, None),
    (24 * H, 10 * 24 * H, "24h"),  # the window opens
    (23 * H, 10 * 24 * H, "24h"),  # still open: a late sweep catches up
    (H + M, 10 * 24 * H, "24h"),
    (H, 10 * 24 * H, "1h"),  # the 1 h window replaces it
    (30 * M, 10 * 24 * H, "1h"),
    (M, 10 * 24 * H, "1h"),
    (timedelta(0), 10 * 24 * H, None),  # started
    (-5 * M, 10 * 24 * H, None),
    (24 * H, 24 * H, "24h"),  # booked exactly as the window opened
    (23 * H, 19 * H, None),  # booked inside the 24 h window: the confirmation said it
    (H, 19 * H, "1h"),  # … but the 1 h reminder still comes
    (30 * M, 50 * M, None),  # booked 50 minutes ahead: nothing more
    (23 * H, None, "24h"),  # no record of when: remind
])
def test_due_reminder(before_start, scheduled_before_start, expected):
    scheduled_at = None if scheduled_before_start is None else START - scheduled_before_start
    assert due_reminder(START, START - before_start, scheduled_at) == expected
