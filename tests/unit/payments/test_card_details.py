"""The local test checkout's card fields (issue 24): the ways people type an expiry, and which field
is wrong."""

from datetime import date

import pytest

from core.payments.local_checkout import card_details_ok, card_problems, parse_expiry

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(("typed", "parsed"), [
    ("12/30", (12, 2030)), ("1230", (12, 2030)), ("12 / 2030", (12, 2030)), ("12/2030", (12, 2030)),
    ("122030", (12, 2030)), ("1/30", (1, 2030)), ("01/30", (1, 2030)), ("130", (1, 2030)),
    ("12-30", (12, 2030)), ("12.30", (12, 2030)), ("12 30", (12, 2030)), (" 12/30 ", (12, 2030)),
    ("13/30", None), ("00/30", None), ("12/3", None), ("12/203", None), ("1", None), ("", None),
    ("dec 30", None), ("12/30/30", None),
])
def test_parse_expiry(typed, parsed):
    assert parse_expiry(typed) == parsed


@pytest.mark.parametrize(("number", "expiry", "cvc", "problems"), [
    ("4242 4242 4242 4242", "1230", "123", {}),
    ("4242-4242-4242-4242", "12 / 2026", "1234", {}),                 # this month still counts
    ("4242424242424241", "12/30", "123", {"card_number": "invalid"}),  # Luhn
    ("5555555555554444", "12/30", "123", {"card_number": "not_a_test_card"}),
    ("4242424242424242", "11/26", "123", {"expiry": "past"}),
    ("4242424242424242", "13/30", "123", {"expiry": "format"}),
    ("4242424242424242", "12/30", "12", {"cvc": "invalid"}),
    ("4242424242424242", "12/30", "12a", {"cvc": "invalid"}),
    ("", "", "", {"card_number": "invalid", "expiry": "format", "cvc": "invalid"}),
])
def test_card_problems_name_the_field(number, expiry, cvc, problems):
    assert card_problems(number, expiry, cvc, TODAY) == problems
    assert card_details_ok(number, expiry, cvc, TODAY) == (not problems)
