"""Sessions (issue 23 §5): sign-out ends the session server-side, and only a valid bearer token
switches CSRF off."""

import re

from tests.conftest import TEST_PASSWORD


def csrf_from(client) -> str:
    page = client.get("/logout").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_session_cookie_replayed_after_logout_is_refused(app, client, make_user, login):
    patient = make_user("patient")
    assert login(patient.email).status_code == 302
    assert client.get("/dashboard").status_code == 200
    stolen = client.get_cookie("doktu_session").value  # what an attacker copied before the logout

    signed_out = client.post("/logout", data={"csrf_token": csrf_from(client)})
    assert signed_out.status_code == 302

    replay = app.test_client()
    replay.set_cookie("doktu_session", stolen)
    page = replay.get("/dashboard")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = replay.get("/api/payment/subscription")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "ERR_UNAUTHENTICATED"


def test_logout_also_ends_the_api_tokens_and_a_new_sign_in_works(app, client, make_user, login):
    patient = make_user("patient")
    token = client.post("/api/auth/token", json={"email": patient.email, "password": TEST_PASSWORD})
    bearer = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    assert client.get("/api/payment/subscription", headers=bearer).status_code != 401
    login(patient.email)
    client.post("/logout", data={"csrf_token": csrf_from(client)})
    assert app.test_client().get("/api/payment/subscription", headers=bearer).status_code == 401
    assert login(patient.email).status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_a_bogus_bearer_header_does_not_switch_csrf_off_for_a_cookie_session(client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    body = {"doctorId": "00000000-0000-0000-0000-000000000000", "start": "2030-01-07T10:00:00+00:00"}
    forged = client.post("/api/appointments/create-pending", json=body, headers={"Authorization": "Bearer x"})
    assert forged.status_code == 400
    assert forged.get_json()["error"]["code"] == "ERR_CSRF"
    # The same write with the page's token goes through the CSRF check (and meets the real rule).
    honest = client.post("/api/appointments/create-pending", json=body, headers={"X-CSRFToken": csrf_from(client)})
    assert honest.get_json()["error"]["code"] == "ERR_NOT_FOUND"


def test_a_bogus_bearer_header_alone_is_401_and_a_valid_token_needs_no_csrf(app, client, make_user):
    patient = make_user("patient")
    body = {"doctorId": "00000000-0000-0000-0000-000000000000", "start": "2030-01-07T10:00:00+00:00"}
    bogus = app.test_client().post("/api/appointments/create-pending", json=body,
                                   headers={"Authorization": "Bearer x"})
    assert bogus.status_code == 401
    token = client.post("/api/auth/token", json={"email": patient.email, "password": TEST_PASSWORD})
    valid = app.test_client().post("/api/appointments/create-pending", json=body,
                                   headers={"Authorization": f"Bearer {token.get_json()['access_token']}"})
    assert valid.get_json()["error"]["code"] == "ERR_NOT_FOUND"  # past CSRF, into the service


def test_a_valid_bearer_token_next_to_a_session_cookie_needs_no_csrf(client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    token = client.post("/api/auth/token", json={"email": patient.email, "password": TEST_PASSWORD})
    body = {"doctorId": "00000000-0000-0000-0000-000000000000", "start": "2030-01-07T10:00:00+00:00"}
    answer = client.post("/api/appointments/create-pending", json=body,
                         headers={"Authorization": f"Bearer {token.get_json()['access_token']}"})
    assert answer.get_json()["error"]["code"] == "ERR_NOT_FOUND"
