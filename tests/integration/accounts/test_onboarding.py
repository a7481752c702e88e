"""Onboarding (SPEC §6): the health profile, validated, required before the first payment."""

import pytest

from core.accounts.profile import require_complete_profile
from core.errors import ProfileIncomplete

PROFILE = {"dateOfBirth": "1990-04-12", "gender": "female", "primaryConditions": ["Asthma", " asthma "],
           "allergies": []}


def test_profile_gate_until_the_profile_is_saved(client, make_user, login):
    patient = make_user("patient")
    with pytest.raises(ProfileIncomplete) as gate:
        require_complete_profile(patient.actor)
    assert gate.value.code == "ERR_PROFILE_INCOMPLETE" and gate.value.status == 422
    login(patient.email)
    token = client.post("/api/auth/token", json={"email": patient.email, "password": "Correct-Horse-42!"})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    assert client.get("/api/patient/profile", headers=headers).get_json()["progress"] == 0
    saved = client.put("/api/patient/profile", json=PROFILE, headers=headers).get_json()
    assert saved["completed"] is True and saved["progress"] == 100
    assert saved["primaryConditions"] == ["Asthma"]  # blanks trimmed, duplicates dropped
    require_complete_profile(patient.actor)


@pytest.mark.parametrize("change", [{"dateOfBirth": "2999-01-01"}, {"dateOfBirth": "1850-01-01"},
                                    {"gender": "robot"}, {"allergies": ["x" * 101]},
                                    {"primaryConditions": [f"c{i}" for i in range(21)]}])
def test_bad_profiles_get_422(client, make_user, change):
    patient = make_user("patient")
    token = client.post("/api/auth/token", json={"email": patient.email, "password": "Correct-Horse-42!"})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    response = client.put("/api/patient/profile", json={**PROFILE, **change}, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "ERR_VALIDATION"


def test_the_onboarding_page_saves_by_form(client, make_user, login):
    import re

    patient = make_user("patient")
    login(patient.email)
    page = client.get("/onboarding?next=/doctors/1").get_data(as_text=True)
    assert 'id="profile-progress"' in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/onboarding?next=/doctors/1", data={
        "date_of_birth": "1985-07-01", "gender": "undisclosed", "primary_conditions": "Diabetes\n\nHypertension",
        "allergies": "", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/doctors/1"


def test_doctors_have_no_health_profile(client, make_user, login):
    login(make_user("doctor").email)
    assert client.get("/onboarding").status_code == 403
