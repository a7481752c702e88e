"""The self-hosted challenge and reCAPTCHA v3 verification against recorded answers (offline)."""

import re

import httpx
import pytest
import time_machine

from core.accounts.challenge import check_challenge, new_challenge
from core.accounts.recaptcha import VERIFY_URL, recaptcha_passes

SECRET = "test-secret"


def solve(question: str) -> int:
    a, b = map(int, re.findall(r"\d+", question))
    return a + b


def test_a_right_answer_passes_and_a_wrong_one_fails():
    challenge = new_challenge(SECRET)
    assert challenge.question.startswith("What is")
    assert check_challenge(SECRET, challenge.token, str(solve(challenge.question)))
    assert check_challenge(SECRET, challenge.token, str(solve(challenge.question) + 1)) is None
    assert check_challenge(SECRET, challenge.token, "twelve") is None
    assert check_challenge("another-secret", challenge.token, str(solve(challenge.question))) is None


def test_a_challenge_expires_after_10_minutes():
    with time_machine.travel("2026-03-02 08:00:00+00:00", tick=False) as traveller:
        challenge = new_challenge(SECRET)
        traveller.shift(601)
        assert check_challenge(SECRET, challenge.token, str(solve(challenge.question))) is None


def recorded(answer):
    def handle(request: httpx.Request):
        assert str(request.url) == VERIFY_URL
        assert b"secret=s3cret" in request.content and b"response=tok" in request.content
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(("answer", "passes"), [
    ({"success": True, "score": 0.9, "action": "login", "hostname": "doktu.eu"}, True),
    ({"success": True, "score": 0.7, "action": "login"}, True),
    ({"success": True, "score": 0.69, "action": "login"}, False),
    ({"success": True, "score": 0.9, "action": "signup"}, False),   # a token minted for another form
    ({"success": False, "error-codes": ["timeout-or-duplicate"]}, False),
    (httpx.ConnectTimeout("google unreachable"), False),
])
def test_recaptcha_score_of_0_7_passes(answer, passes):
    assert recaptcha_passes("s3cret", "tok", action="login", transport=recorded(answer)) is passes


def test_no_token_never_passes():
    assert recaptcha_passes("s3cret", None, action="login") is False
