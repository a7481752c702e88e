"""Abuse protection (SPEC §6): throttling with 429 ERR_RATE_LIMITED, and the fallback challenge
after suspicious activity when reCAPTCHA is not configured."""

import re

from tests.conftest import TEST_PASSWORD


def test_token_endpoint_is_throttled_per_address(client, make_user, limits):
    """20 attempts a minute from one address, whatever they are; per account only failures count
    and bring the challenge, never a lock-out (test_sign_in_abuse.py)."""
    user = make_user("patient")
    codes = [client.post("/api/auth/token", json={"email": user.email, "password": "wrong-Password-1"}).status_code
             for _ in range(20)]
    assert codes[:3] == [401] * 3 and set(codes[3:]) == {403}  # the challenge after 3 failures
    blocked = client.post("/api/auth/token", json={"email": user.email, "password": TEST_PASSWORD})
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["code"] == "ERR_RATE_LIMITED"
    assert "minute" not in blocked.get_json()["error"]["message"]  # no internal limits in the message
    assert int(blocked.headers["Retry-After"]) > 0


def test_forgot_is_throttled_per_account(client, make_user, limits):
    user = make_user("patient")
    codes = [client.post("/api/auth/forgot", json={"email": user.email}).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]


def test_three_failed_logins_bring_the_challenge_and_solving_it_lets_in(client, make_user, form_token):
    user = make_user("patient")
    for _ in range(3):
        client.post("/login", data={"email": user.email, "password": "wrong-Password-1",
                                    "csrf_token": form_token("/login")})
    page = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD,
                                       "csrf_token": form_token("/login")})
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    question = re.search(r"Security question: What is (\d+) plus (\d+)\?", html)
    token = re.search(r'name="challenge_token" value="([^"]+)"', html).group(1)
    answer = int(question.group(1)) + int(question.group(2))
    wrong = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token":
                                        form_token("/login"), "challenge_token": token,
                                        "challenge_answer": str(answer + 1)})
    assert wrong.status_code == 403
    ok = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token":
                                     form_token("/login"), "challenge_token": token, "challenge_answer": str(answer)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/dashboard"
    replay = client.post("/api/auth/signup", json={"acceptTerms": True, "email": "new@example.org", "password": "Zebra-Quartz-91",
                                                   "challengeToken": token, "challengeAnswer": str(answer)})
    assert replay.status_code == 403  # a solved challenge does not work twice


def test_signup_api_asks_for_the_challenge_when_suspicious(client, make_user, form_token):
    user = make_user("patient")
    for _ in range(3):
        client.post("/login", data={"email": user.email, "password": "wrong-Password-1",
                                    "csrf_token": form_token("/login")})
    response = client.post("/api/auth/signup", json={"acceptTerms": True, "email": "fresh@example.org", "password": "Zebra-Quartz-91"})
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "ERR_CHALLENGE_REQUIRED" and error["details"]["question"].startswith("What is")


def test_unknown_and_wrong_password_answer_alike(client, make_user):
    user = make_user("patient")
    a = client.post("/api/auth/token", json={"email": user.email, "password": "wrong-Password-1"})
    b = client.post("/api/auth/token", json={"email": "ghost@tests.doktu.eu", "password": "wrong-Password-1"})
    assert a.status_code == b.status_code == 401
    assert a.get_json()["error"]["message"] == b.get_json()["error"]["message"]
