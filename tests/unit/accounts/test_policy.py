"""The password policy (SPEC §6) with its edges."""

import pytest

from core.accounts.policy import check_password


@pytest.mark.parametrize(("password", "problem"), [
    ("Zebra-Quar91", None),                     # exactly 12 characters
    ("Zebra-Quar9", "at least 12"),             # 11
    ("zebra-quartz-91", "upper-case"),
    ("ZEBRA-QUARTZ-91", "lower-case"),
    ("Zebra-Quartz-Nine", "digit"),
    ("ZebraQuartz9119", "symbol"),
    ("Password123!", "too easy to guess"),      # passes the classes, refused as common
    ("Aa1!aaaaaaaaaaaa", "too easy to guess"),
    ("Ünïcödé-Pässwörd-9", None),               # Unicode letters count as letters
    ("Grüße-aus-Köln-7", None),
    ("Zebra-Quartz-91" + "x" * 70, "at most 72 bytes"),
])
def test_password_rules(password, problem):
    result = check_password(password)
    if problem is None:
        assert result.ok, result.problems
    else:
        assert not result.ok and any(problem in p for p in result.problems), result.problems


def test_the_email_itself_makes_a_weak_password():
    assert not check_password("Paula.patient1!", user_inputs=("paula.patient1@example.org",
                                                               "paula.patient1")).ok
