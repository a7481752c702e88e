"""The engine stops once it has the starts a caller wants (issue 21), without changing them."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.scheduling.engine import next_free, unified_availability

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)


def run(**kwargs):
    return unified_availability(tz=PARIS, explicit=[], now=NOW, window_start=NOW,
                                window_end=NOW + timedelta(days=7), **kwargs)


def test_asking_for_two_starts_gives_the_same_two_and_stops_after_their_day():
    booked = [datetime(2026, 3, 2, 10, 0, tzinfo=PARIS), datetime(2026, 3, 4, 12, 0, tzinfo=PARIS)]
    full = run(appointment_starts=booked)
    short = run(appointment_starts=booked, wanted=2)
    assert next_free(short, 2) == next_free(full, 2)
    assert short == [a for a in full if a.start < datetime(2026, 3, 3, 0, 0, tzinfo=PARIS)]


def test_a_day_without_enough_starts_lets_the_walk_go_on():
    # Monday is booked every 45 minutes from 10:00 to 19:45: only 20:30 is left; the second start
    # is on Tuesday.
    booked = [datetime(2026, 3, 2, 10, 0, tzinfo=PARIS) + timedelta(minutes=45 * i) for i in range(14)]
    full = run(appointment_starts=booked)
    short = run(appointment_starts=booked, wanted=2)
    assert next_free(short, 2) == next_free(full, 2)
    first, second = next_free(short, 2)
    assert first.start == datetime(2026, 3, 2, 20, 30, tzinfo=PARIS)
    assert second.start == datetime(2026, 3, 3, 10, 0, tzinfo=PARIS)
