"""The walk-in queue's rules (SPEC §17), as plain functions."""

from datetime import UTC, datetime, timedelta

from core.walkin.queue import estimated_wait_minutes, refund_offered, usual_wait_minutes

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX = timedelta(minutes=15)


def test_usual_wait_is_the_median_rounded_up_and_none_before_any_data():
    assert usual_wait_minutes([]) is None
    assert usual_wait_minutes([timedelta(seconds=10)]) == 1  # at least a minute
    assert usual_wait_minutes([timedelta(minutes=2), timedelta(minutes=4, seconds=1), timedelta(minutes=30)]) == 5
    assert usual_wait_minutes([timedelta(minutes=2), timedelta(minutes=4)]) == 3


def test_the_estimate_shares_the_patients_ahead_among_the_doctors_taking_consultations():
    assert estimated_wait_minutes(1, 1, None) == 10  # no data: 10 min a round
    assert estimated_wait_minutes(1, 2, 4) == 4
    assert estimated_wait_minutes(3, 2, 4) == 8  # two rounds
    assert estimated_wait_minutes(2, 0, 5) == 10  # nobody taking: the queue as it stands


def test_the_refund_is_offered_after_the_max_wait_again_after_keep_waiting_and_at_once_without_doctors():
    assert refund_offered(T0, None, T0 + MAX - timedelta(seconds=1), MAX, 1) is False
    assert refund_offered(T0, None, T0 + MAX, MAX, 1) is True
    kept = T0 + MAX
    assert refund_offered(T0, kept, kept + timedelta(minutes=14), MAX, 1) is False
    assert refund_offered(T0, kept, kept + MAX, MAX, 1) is True
    assert refund_offered(T0, None, T0 + timedelta(seconds=5), MAX, 0) is True
