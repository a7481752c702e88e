"""POST /api/auth/password-strength (issue 24): the meter asks the server's own estimator; same
origin only (CSRF), throttled per address, and a refused sign-up keeps the rules' state, not the
password."""

import re

from tests.integration.accounts.test_signup import GOOD


def csrf_header(client) -> dict[str, str]:
    page = client.get("/signup").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)}


def test_the_meter_hears_too_common_before_submit(client):
    headers = csrf_header(client)
    answer = client.post("/api/auth/password-strength", json={"password": "Password123!"}, headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["verdict"] == "too_common" and body["guessable"] and body["meter"] == 2
    assert all(body["rules"][r] for r in ("length", "upper", "lower", "digit", "symbol"))
    good = client.post("/api/auth/password-strength", json={"password": GOOD}, headers=headers).get_json()
    assert good["verdict"] in {"good", "strong"} and good["meter"] == 6 and not good["guessable"]


def test_hints_make_the_persons_own_details_guessable(client):
    headers = csrf_header(client)
    body = {"password": "Paula.patient1!", "hints": ["Paula Patient", "paula.patient1@example.org"]}
    assert client.post("/api/auth/password-strength", json=body, headers=headers).get_json()["verdict"] == "too_common"


def test_without_the_pages_csrf_token_it_is_refused(client):
    answer = client.post("/api/auth/password-strength", json={"password": "Password123!"})
    assert answer.status_code in {400, 403}
    assert "verdict" not in (answer.get_json() or {})


def test_too_long_is_a_validation_error(client):
    answer = client.post("/api/auth/password-strength", json={"password": "x" * 201}, headers=csrf_header(client))
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "ERR_VALIDATION"
    assert "x" * 50 not in answer.get_data(as_text=True)  # the input is never echoed


def test_it_is_throttled_per_address(client, limits):
    headers = csrf_header(client)
    codes = [client.post("/api/auth/password-strength", json={"password": "Tiger-Lamp"}, headers=headers).status_code
             for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429


def test_a_refused_sign_up_keeps_the_rules_and_the_consent_not_the_password(client, form_token):
    page = client.post("/signup", data={"accept_terms": "y", "full_name": "Guess Person",
                                        "email": "guess.person@example.org", "password": "Password123!",
                                        "csrf_token": form_token()})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "too easy to guess" in html and "Password123!" not in html
    assert re.search(r'id="accept_terms"[^>]*\bchecked\b', html)
    assert "Too common: easy to guess" in html
    for rule in ("length", "upper", "lower", "digit", "symbol"):
        assert re.search(rf'data-rule="{rule}" class="dk-rule--met"', html), rule
    assert 'data-rule="common" class="dk-rule--met"' not in html
    assert re.search(r'<meter id="password-strength"[^>]*value="2"', html)
