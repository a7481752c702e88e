"""The sign-up meter's reading (issue 24): the same rules and estimator as the policy, so the meter
never calls "strong" a password the server refuses, and says "too common" before submit."""

import pytest

from core.accounts.policy import RULES, check_password, password_strength

SAMPLES = ["", "a", "tig", "Tiger", "Tiger-", "Tiger-L", "Password123!", "Aa1!aaaaaaaaaaaa", "Zebra-Quar91",
           "Tiger-Lamp-Orbit-47!", "correct horse battery staple", "Qwerty123456!", "Ünïcödé-Pässwörd-9",
           "Zebra-Quartz-91" + "x" * 70, "Paula.patient1!"]


@pytest.mark.parametrize("password", SAMPLES)
def test_the_meter_says_good_or_strong_exactly_when_the_server_accepts(password):
    hints = ("paula.patient1@example.org", "paula.patient1", "Paula Patient")
    reading = password_strength(password, user_inputs=hints)
    assert (reading.verdict in {"good", "strong"}) == check_password(password, user_inputs=hints).ok
    assert (reading.meter == 6) == (reading.verdict in {"good", "strong"})


@pytest.mark.parametrize(("password", "verdict"), [
    ("", "empty"),
    ("tig", "too_weak"),            # 1 rule of 5
    ("Tiger", "weak"),              # 2
    ("Tiger-", "weak"),             # 3
    ("Tiger-L9", "fair"),           # 4: only the length is missing
    ("Password123!", "too_common"),  # every rule met, and still refused
    ("Aa1!aaaaaaaaaaaa", "too_common"),
    ("Tiger-Lamp-Orbit-47!", "strong"),
])
def test_verdicts(password, verdict):
    assert password_strength(password).verdict == verdict


def test_a_guessable_password_never_fills_the_meter_past_red():
    reading = password_strength("Password123!")
    assert all(reading.rules[r] for r in RULES) and reading.guessable
    assert reading.meter == 2 and not check_password("Password123!").ok


def test_the_persons_own_name_makes_it_guessable():
    reading = password_strength("Paula.patient1!", user_inputs=("paula.patient1@example.org", "paula.patient1"))
    assert reading.verdict == "too_common"  # the email as a hint, as sign-up checks it
