"""Sign-up (SPEC §6): policy on the server, unique emails whatever the case, a signed-in patient."""

import pytest
from sqlalchemy import select

from core.accounts.passwords import verify_password
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import FunnelEvent, Patient, User

GOOD = "Zebra-Quartz-91"


def test_api_signup_creates_a_signed_in_patient(client):
    response = client.post("/api/auth/signup", json={"acceptTerms": True, "email": " New.Person@Example.ORG ", "password": GOOD,
                                                     "fullName": "New Person"})
    assert response.status_code == 201
    assert response.get_json()["email"] == "new.person@example.org" and response.get_json()["role"] == "patient"
    with unit_of_work(SYSTEM) as uow:
        user = uow.session.scalar(select(User).where(User.email == "new.person@example.org"))
        assert user.password_hash.startswith("$2b$12$") and verify_password(GOOD, user.password_hash)
        assert uow.session.scalar(select(Patient).where(Patient.user_id == user.id)) is not None
        assert uow.session.scalar(select(FunnelEvent.step).where(FunnelEvent.user_id == user.id)) == "signed_up"
    assert client.get("/api/patient/profile").status_code == 200  # signed in


def test_duplicate_email_in_another_case_is_err_dup_email(client, make_user):
    make_user("patient", email="taken@tests.doktu.eu")
    response = client.post("/api/auth/signup", json={"acceptTerms": True, "email": "TAKEN@tests.doktu.eu", "password": GOOD})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "ERR_DUP_EMAIL"


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "a@b.org", "password": "Password123!"}, "password"),
    ({"email": "a@b.org", "password": "short1!A"}, "password"),
    ({"email": "not-an-email", "password": GOOD}, "email"),
    ({"email": "a@b.org"}, "password"),
    ({"email": "a@b.org", "password": GOOD, "acceptTerms": False}, "acceptTerms"),  # SPEC §21
])
def test_bad_signups_get_422_with_the_field(client, body, field):
    response = client.post("/api/auth/signup", json={"acceptTerms": True, **body})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "ERR_VALIDATION"
    assert field in str(error.get("details", "")) or field in error["message"].lower()


def test_signup_page_by_form_lands_on_onboarding(client, form_token):
    response = client.post("/signup?next=/doctors/123", data={"accept_terms": "y",
        "full_name": "Form Person", "email": "form.person@example.org", "password": GOOD,
        "csrf_token": form_token()})
    assert response.status_code == 302
    assert response.headers["Location"] == "/onboarding?next=/doctors/123"


def test_signup_page_shows_policy_problems_readably(client, form_token):
    response = client.post("/signup", data={"accept_terms": "y", "full_name": "X", "email": "x@example.org",
                                            "password": "Password123!", "csrf_token": form_token()})
    assert response.status_code == 422
    assert "too easy to guess" in response.get_data(as_text=True)


def test_signup_form_without_csrf_is_refused(client):
    response = client.post("/signup", data={"accept_terms": "y", "full_name": "X", "email": "x@example.org", "password": GOOD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
