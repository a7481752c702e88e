"""The join rule (SPEC §10, §12) to the second: from 5 minutes before the start to 30 minutes after
it, both ends included, and only with a passing device test at most 24 hours old."""

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InvalidTransition, TimeWindow, VideoTestRequired
from core.video.policy import LastTest, check_join, in_join_window, is_fresh, join_refusal, join_window

START = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
PASSED_AN_HOUR_AGO = LastTest(START - timedelta(hours=1), "passed")


def at(minutes: int, seconds: int = 0) -> datetime:
    """`minutes:seconds` relative to the start (negative = before)."""
    sign = -1 if minutes < 0 or (minutes == 0 and seconds < 0) else 1
    return START + sign * timedelta(minutes=abs(minutes), seconds=abs(seconds))


@pytest.mark.parametrize(("now", "allowed"), [
    (at(-5, -1), False),  # 5:01 before
    (at(-5), True),  # 5:00 before
    (at(-4, -59), True),  # 4:59 before
    (START, True),
    (at(30), True),  # 30:00 after
    (at(30, 1), False),  # 30:01 after
])
def test_the_window_opens_5_minutes_before_and_closes_30_minutes_after(now, allowed):
    assert in_join_window(now, START) is allowed
    refusal = join_refusal(now=now, start=START, status="confirmed", latest_test=PASSED_AN_HOUR_AGO)
    assert (refusal is None) is allowed
    if not allowed:
        assert isinstance(refusal, TimeWindow) and refusal.code == "ERR_TIME_WINDOW"


def test_the_window_says_whether_it_is_early_or_late():
    early = join_refusal(now=at(-6), start=START, status="paid", latest_test=PASSED_AN_HOUR_AGO)
    late = join_refusal(now=at(31), start=START, status="paid", latest_test=PASSED_AN_HOUR_AGO)
    assert early.details["when"] == "early" and "opens 5 minutes before" in early.message
    assert late.details["when"] == "late" and early.details["opensAt"] == join_window(START)[0].isoformat()


@pytest.mark.parametrize(("age", "fresh"), [
    (timedelta(hours=23, minutes=59), True),
    (timedelta(hours=24), True),
    (timedelta(hours=24, minutes=1), False),
])
def test_a_passed_test_counts_for_24_hours(age, fresh):
    test = LastTest(START - age, "passed")
    assert is_fresh(START, test) is fresh
    refusal = join_refusal(now=START, start=START, status="confirmed", latest_test=test)
    assert (refusal is None) is fresh
    if not fresh:
        assert isinstance(refusal, VideoTestRequired) and refusal.status == 409


def test_audio_only_counts_as_passed():
    assert join_refusal(now=START, start=START, status="confirmed",
                        latest_test=LastTest(START - timedelta(minutes=3), "audio_only")) is None


def test_without_any_test_joining_needs_one():
    with pytest.raises(VideoTestRequired, match="Run the device test first"):
        check_join(now=START, start=START, status="confirmed", latest_test=None)


def test_a_failed_latest_test_blocks_even_after_an_earlier_pass():
    # Only the latest test is stored in the stamp: a later failure says the devices do not work now.
    with pytest.raises(VideoTestRequired, match="did not pass"):
        check_join(now=START, start=START, status="confirmed", latest_test=LastTest(START - timedelta(minutes=2), "failed"))


def test_a_test_from_the_future_does_not_count():
    assert not is_fresh(START, LastTest(START + timedelta(minutes=1), "passed"))


@pytest.mark.parametrize("status", ["pending", "cancelled", "completed", "no_show"])
def test_only_a_booked_consultation_can_be_joined(status):
    refusal = join_refusal(now=START, start=START, status=status, latest_test=PASSED_AN_HOUR_AGO)
    assert isinstance(refusal, InvalidTransition) and refusal.code == "ERR_INVALID_STATE"


def test_the_window_is_checked_before_the_test():
    refusal = join_refusal(now=at(-10), start=START, status="confirmed", latest_test=None)
    assert isinstance(refusal, TimeWindow)
