"""Slot hoarding (issue 23 §12): holds and create-pending share a per-patient budget of 10 in 10
minutes; beyond it 429 ERR_RATE_LIMITED with Retry-After, and other patients are not affected."""

import pytest

from tests.integration.scheduling.conftest import paris

CREATE = "/api/appointments/create-pending"
HOLD = "/api/slots/hold"


@pytest.fixture
def limits(app):
    from portals.limits import limiter

    limiter.enabled = True
    limiter.reset()
    yield limiter
    limiter.enabled = False
    limiter.reset()


def test_a_patient_gets_10_holds_in_10_minutes_then_429(app, client, doctor, onboarded, login, csrf_header, limits):
    patient = onboarded()
    login(patient.email)
    headers = csrf_header()
    codes = []
    for i in range(10):  # create-pending and plain holds draw on the same budget
        path = CREATE if i % 2 else HOLD
        codes.append(client.post(path, json={"doctorId": str(doctor.doctor.id), "start": paris(3 + i, 14).isoformat()},
                                 headers=headers).status_code)
    assert set(codes) == {201}
    refused = client.post(CREATE, json={"doctorId": str(doctor.doctor.id), "start": paris(20, 14).isoformat()},
                          headers=headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "ERR_RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) > 0
    assert client.post(HOLD, json={"doctorId": str(doctor.doctor.id), "start": paris(21, 14).isoformat()},
                       headers=headers).status_code == 429
    # The /book form (no script) draws on it too.
    form = client.post(f"/book/{doctor.doctor.id}", data={"start": paris(22, 14).isoformat(),
                                                          "csrf_token": headers["X-CSRFToken"]})
    assert form.status_code == 429

    other = onboarded()
    fresh = app.test_client()
    page = fresh.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    fresh.post("/login", data={"email": other.email, "password": "Correct-Horse-42!", "csrf_token": token})
    own = fresh.post(HOLD, json={"doctorId": str(doctor.doctor.id), "start": paris(23, 14).isoformat()},
                     headers={"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"',
                                                       fresh.get("/logout").get_data(as_text=True)).group(1)})
    assert own.status_code == 201


def test_a_signed_out_token_spends_no_budget_and_sees_none(app, client, doctor, make_user, limits):
    """The hold route confirms a bearer token's session in its service (after the limiter ran):
    a token signed out since draws nothing from its former owner's budget and its 401 carries
    no X-RateLimit headers; the owner keeps all 10 holds."""
    from core.accounts.authentication import issue_token, load_user, sign_out_everywhere
    from core.actor import SYSTEM
    from core.db import unit_of_work
    from core.models import User
    from tests.integration.scheduling.test_hold_fast_path import bearer, hold_body

    patient = make_user("patient")
    stolen = bearer(app, patient)
    sign_out_everywhere(patient.actor)
    for hour in range(9, 21):
        refused = client.post(HOLD, json=hold_body(doctor, hour=hour), headers=stolen)
        assert refused.status_code == 401
        assert not [name for name, _ in refused.headers if name.lower().startswith("x-ratelimit")]
    with unit_of_work(SYSTEM) as uow:
        version = uow.session.get(User, patient.user.id).session_version
    token = issue_token(load_user(patient.user.id, version), secret=app.extensions["doktu"].settings.secret_key,
                        ttl_seconds=900)
    fresh = {"Authorization": f"Bearer {token}"}
    codes = [client.post(HOLD, json=hold_body(doctor, day=4 + i), headers=fresh).status_code for i in range(10)]
    assert codes == [201] * 10
    assert client.post(HOLD, json=hold_body(doctor, day=15), headers=fresh).status_code == 429
