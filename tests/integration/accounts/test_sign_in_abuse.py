"""Sign-in abuse (issue 23 §6): account limits keyed on the canonical address, the token endpoint's
human check, failures-only counting, and no lock-out of the real user."""

import re

import pytest

from tests.conftest import TEST_PASSWORD

WRONG = "wrong-Password-1"


def fullwidth(text: str, positions: set[int]) -> str:
    """`text` with the letters at `positions` in their fullwidth forms (U+FF01…), which NFKC folds back."""
    return "".join(chr(ord(c) + 0xFEE0) if i in positions and c.isalpha() else c for i, c in enumerate(text))


def variant(email: str, n: int) -> str:
    """The n-th spelling of `email` with some domain letters fullwidth: each one a different string."""
    local, domain = email.split("@")
    return f"{local}@{fullwidth(domain, {n % 5, (n + 2) % 5})}"


def from_address(n: int) -> dict:
    """A distinct client address, so only the account's counter can notice the attempts."""
    return {"REMOTE_ADDR": f"198.51.100.{n + 10}"}


def solve(details: dict) -> dict:
    a, b = map(int, re.search(r"What is (\d+) plus (\d+)\?", details["question"]).groups())
    return {"challengeToken": details["challengeToken"], "challengeAnswer": str(a + b)}


def token_request(client, email: str, password: str, n: int, **extra):
    return client.post("/api/auth/token", json={"email": email, "password": password, **extra},
                       environ_base=from_address(n))


def test_fullwidth_spellings_of_the_domain_count_against_the_same_account(client, make_user, limits):
    user = make_user("patient")
    spellings = [variant(user.email, n) for n in range(3)]
    assert len(set(spellings)) == 3 and user.email not in spellings
    for n, spelling in enumerate(spellings):
        failed = token_request(client, spelling, WRONG, n)
        assert failed.status_code == 401, failed.get_json()
    fourth = token_request(client, variant(user.email, 3), WRONG, 3)
    assert fourth.status_code == 403
    assert fourth.get_json()["error"]["code"] == "ERR_CHALLENGE_REQUIRED"
    plain = token_request(client, user.email, TEST_PASSWORD, 4)
    assert plain.status_code == 403  # the ASCII address is the same account


def test_a_fullwidth_spelling_signs_in_to_the_same_account_through_the_form(client, make_user, login):
    user = make_user("patient")
    local, domain = user.email.split("@")
    response = login(f"{fullwidth(local, {0, 1})}@{fullwidth(domain, {0, 1, 2, 3, 4})}")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_login_form_failures_with_fullwidth_spellings_bring_the_challenge_for_the_account(client, make_user,
                                                                                          form_token):
    user = make_user("patient")
    for n in range(3):
        page = client.post("/login", data={"email": variant(user.email, n), "password": WRONG,
                                           "csrf_token": form_token("/login")}, environ_base=from_address(n))
        assert page.status_code == 401
    real = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD,
                                       "csrf_token": form_token("/login")}, environ_base=from_address(9))
    assert real.status_code == 403
    assert "Security question: What is" in real.get_data(as_text=True)


def test_the_token_endpoint_asks_the_human_check_after_failures_and_a_solved_one_gets_the_token(client, make_user):
    user = make_user("patient")
    for n in range(3):
        assert token_request(client, user.email, WRONG, n).status_code == 401
    asked = token_request(client, user.email, TEST_PASSWORD, 5)
    assert asked.status_code == 403
    details = asked.get_json()["error"]["details"]
    assert details["question"].startswith("What is") and details["challengeToken"]
    wrong_answer = token_request(client, user.email, TEST_PASSWORD, 5,
                                 challengeToken=details["challengeToken"], challengeAnswer="999")
    assert wrong_answer.status_code == 403
    used = solve(details)
    assert token_request(client, user.email, WRONG, 5, **used).status_code == 401  # solved, wrong password
    replayed = token_request(client, user.email, TEST_PASSWORD, 5, **used)
    assert replayed.status_code == 403  # each solved challenge counts once
    granted = token_request(client, user.email, TEST_PASSWORD, 5, **solve(replayed.get_json()["error"]["details"]))
    assert granted.status_code == 200 and granted.get_json()["access_token"]


def test_successful_sign_ins_do_not_count_against_the_account(client, make_user, limits):
    user = make_user("patient")
    codes = [token_request(client, user.email, TEST_PASSWORD, n).status_code for n in range(8)]
    assert codes == [200] * 8


def attack(client, email: str) -> None:
    """Three failures, then seven more guesses, each with a solved challenge: the account piles
    up failures from many addresses."""
    for n in range(3):
        token_request(client, email, WRONG, n)
    for n in range(3, 10):
        asked = token_request(client, email, WRONG, n)
        assert asked.status_code == 403
        guessed = token_request(client, email, WRONG, n, **solve(asked.get_json()["error"]["details"]))
        assert guessed.status_code == 401


def test_an_attacker_cannot_lock_the_real_user_out_of_the_api(client, make_user, limits):
    user = make_user("patient")
    attack(client, user.email)
    # The real user, from their own address: asked the challenge (never a 429), and let in with it.
    asked = token_request(client, user.email, TEST_PASSWORD, 20)
    assert asked.status_code == 403 and asked.get_json()["error"]["code"] == "ERR_CHALLENGE_REQUIRED"
    granted = token_request(client, user.email, TEST_PASSWORD, 20, **solve(asked.get_json()["error"]["details"]))
    assert granted.status_code == 200


def test_an_attacker_cannot_lock_the_real_user_out_of_the_login_form(client, make_user, limits):
    user = make_user("patient")
    attack(client, user.email)
    page = client.get("/login", environ_base=from_address(21)).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    asked = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf},
                        environ_base=from_address(21))
    assert asked.status_code == 403
    html = asked.get_data(as_text=True)
    a, b = map(int, re.search(r"Security question: What is (\d+) plus (\d+)\?", html).groups())
    challenge = re.search(r'name="challenge_token" value="([^"]+)"', html).group(1)
    signed_in = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf,
                                            "challenge_token": challenge, "challenge_answer": str(a + b)},
                            environ_base=from_address(21))
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/dashboard"


@pytest.fixture
def recaptcha_configured(app, monkeypatch):
    """reCAPTCHA keys set, and Google scoring every token 0.9 (no network in tests)."""
    import dataclasses

    import portals.limits as limits_module

    doktu = app.extensions["doktu"]
    monkeypatch.setattr(doktu, "settings", dataclasses.replace(doktu.settings, recaptcha_secret_key="k",
                                                               recaptcha_site_key="s"))
    monkeypatch.setattr(limits_module, "recaptcha_passes", lambda _secret, token, **k: bool(token))


def test_with_recaptcha_keys_api_clients_need_no_check_before_failures(client, make_user, recaptcha_configured):
    user = make_user("patient")
    assert token_request(client, user.email, TEST_PASSWORD, 0).status_code == 200  # no reCAPTCHA token at all
    for n in range(3):
        token_request(client, user.email, WRONG, n)
    assert token_request(client, user.email, TEST_PASSWORD, 4).status_code == 403  # now it asks
    assert token_request(client, user.email, TEST_PASSWORD, 4, recaptchaToken="t").status_code == 200


def test_with_recaptcha_passing_an_account_under_attack_still_needs_the_challenge(client, make_user,
                                                                                   recaptcha_configured):
    user = make_user("patient")
    for n in range(5):
        assert token_request(client, user.email, WRONG, n, recaptchaToken="t").status_code == 401
    asked = token_request(client, user.email, TEST_PASSWORD, 6, recaptchaToken="t")
    assert asked.status_code == 403 and asked.get_json()["error"]["code"] == "ERR_CHALLENGE_REQUIRED"
