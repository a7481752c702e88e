"""The withdrawal rule (issue 25; /pricing): within 14 days of a plan's start, the price minus €35
per consultation had, never below 0; None after the 14 days (the 14th day itself is in)."""

from datetime import UTC, datetime, timedelta

import pytest

from core.payments.withdrawal import withdrawal_refund

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("price", "had", "refund"), [
    (5900, 0, 5900), (5900, 1, 2400), (5900, 3, 0),  # Premium €59: 3 consultations cost more than it
    (2900, 0, 2900), (2900, 1, 0),  # Basic €29: its one consultation uses up the price
])
def test_refund_is_price_minus_35_per_consultation_never_below_zero(price, had, refund):
    assert withdrawal_refund(price, had, START, START + timedelta(days=13)) == refund


def test_the_fourteen_days_include_the_fourteenth_day_and_end_a_second_after():
    assert withdrawal_refund(5900, 0, START, START) == 5900
    assert withdrawal_refund(5900, 0, START, START + timedelta(days=14)) == 5900
    assert withdrawal_refund(5900, 0, START, START + timedelta(days=14, seconds=1)) is None
    assert withdrawal_refund(5900, 0, START, START + timedelta(days=15)) is None
