"""The password policy's refusals in the reader's language (issue 18): each broken rule is its own
catalog message, so sign-up (page and API) names them in French or German; codes never change and
the envelope's English stays for clients that ask for English."""

import pytest

FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
DE = {"Accept-Language": "de-DE,de;q=0.9"}


def test_the_signup_page_names_each_broken_rule_in_french(client, form_token):
    page = client.post("/signup", headers=FR, data={
        "accept_terms": "y", "full_name": "Zoé", "email": "zoe@example.org", "password": "abc",
        "csrf_token": form_token()})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    for sentence in ("Utilisez au moins 12 caractères.", "Ajoutez une lettre majuscule.", "Ajoutez un chiffre.",
                     "Ajoutez un symbole, par exemple ! ? # ou -."):
        assert sentence in text
    assert "Use at least" not in text and "Add a digit" not in text


def test_a_guessable_password_is_refused_in_german(client, form_token):
    page = client.post("/signup", headers=DE, data={
        "accept_terms": "y", "full_name": "Jan", "email": "jan@example.org", "password": "Password123!",
        "csrf_token": form_token()})
    assert page.status_code == 422
    assert "Dieses Passwort ist zu leicht zu erraten." in page.get_data(as_text=True)


@pytest.mark.parametrize(("headers", "expected"), [
    (FR, "Utilisez au moins 12 caractères. Ajoutez un chiffre. Ajoutez un symbole, par exemple ! ? # ou -."),
    ({}, "Use at least 12 characters. Add a digit. Add a symbol, such as ! ? # or -."),
])
def test_the_api_envelope_joins_the_rules_in_the_requests_language(client, headers, expected):
    response = client.post("/api/auth/signup", headers=headers,
                           json={"acceptTerms": True, "email": "api@example.org", "password": "Shortpass"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "ERR_VALIDATION"
    assert error["message"] == expected
    # The per-field details stay the English sentences a client keys on (SPEC §12).
    assert [f["message"] for f in error["details"]["fields"]] == [
        "Use at least 12 characters.", "Add a digit.", "Add a symbol, such as ! ? # or -."]
