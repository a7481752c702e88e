"""The input-hygiene layer (SPEC §12, issue 23 item 7), case by case: each input that used to be a
500 is now a clear 4xx, nothing is written, and the answer names what is wrong."""

import json
import re
import uuid

import pytest
from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import User
from tests.integration.scheduling.conftest import clock_at, doctor  # noqa: F401


def users_named(email: str) -> list:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(User).where(User.email == email)))


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


def form_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize(("value", "problem"), [("Ada\x00Lovelace", "NUL"), ("Ada \ud800", "unpaired surrogate")])
def test_text_that_cannot_be_stored_is_422_naming_the_field_and_nothing_is_written(client, value, problem):
    email = f"hygiene-{uuid.uuid4().hex[:8]}@example.org"
    response = client.post("/api/auth/signup", json={"email": email, "password": "Tiger-Lamp-Orbit-47!",
                                                     "fullName": value, "acceptTerms": True})
    error = error_of(response, 422, "ERR_VALIDATION")
    assert error["message"].startswith("fullName:") and problem in error["message"]
    assert error["details"]["fields"][0]["field"] == "fullName"
    assert users_named(email) == []


def test_a_nul_in_a_nested_key_or_list_is_found_too(client, make_user, login):
    login(make_user("patient").email)
    body = {"dateOfBirth": "1980-01-01", "gender": "female", "allergies": ["pollen", "nuts\x00"]}
    response = client.put("/api/patient/profile", json=body, headers={"X-CSRFToken": "x"})
    # The hygiene layer answers before CSRF or the view: nothing of this body is ever used.
    assert error_of(response, 422, "ERR_VALIDATION")["details"]["fields"][0]["field"] == "allergies[1]"


@pytest.mark.parametrize("raw", ['{"email": ', "[" * 3000 + "]" * 3000, '{"a": NaN}', '{"a": 1e999}', "\xff{}"])
def test_unreadable_json_is_400_before_any_view(client, raw):
    response = client.post("/api/auth/forgot", data=raw.encode("latin-1"), content_type="application/json")
    assert "JSON" in error_of(response, 400, "ERR_BAD_REQUEST")["message"]


def test_nesting_is_bounded_even_when_python_could_parse_it(client):
    deep = '{"a":' * 65 + "1" + "}" * 65
    response = client.post("/api/auth/forgot", data=deep, content_type="application/json")
    assert "64 levels" in error_of(response, 400, "ERR_BAD_REQUEST")["message"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:00-05:00",
                                    "1899-12-31T23:59:59+00:00", "2101-01-01T00:00:00+00:00"])
def test_years_outside_1900_to_2100_are_422_everywhere_time_comes_in(client, doctor, make_user, login,  # noqa: F811
                                                                     moment):
    availability = client.get(f"/api/doctors/{doctor.doctor.id}/unified-availability",
                              query_string={"from": moment})
    assert "1900" in error_of(availability, 422, "ERR_VALIDATION")["message"]
    next_slots = client.get("/api/doctors/next-slots", query_string={"ids": str(doctor.doctor.id), "to": moment})
    error_of(next_slots, 422, "ERR_VALIDATION")
    login(make_user("patient").email)
    token = {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"',
                                      client.get("/logout").get_data(as_text=True)).group(1)}
    for path in ("/api/slots/hold", "/api/appointments/create-pending"):
        held = client.post(path, json={"doctorId": str(doctor.doctor.id), "start": moment}, headers=token)
        assert "start" in error_of(held, 422, "ERR_VALIDATION")["message"]


def test_a_nul_in_a_search_is_a_readable_error_page(client):
    response = client.get("/doctors", query_string={"q": "Martin\x00"})
    assert response.status_code == 422 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "We could not do that" in page and "NUL character" in page


def test_a_signup_form_with_a_nul_is_refused_on_a_page_and_creates_nobody(client):
    email = f"form-{uuid.uuid4().hex[:8]}@example.org"
    response = client.post("/signup", data={"full_name": "Nul\x00Person", "email": email,
                                            "password": "Tiger-Lamp-Orbit-47!", "accept_terms": "y",
                                            "csrf_token": form_token(client, "/signup")})
    assert response.status_code == 422 and "NUL character" in response.get_data(as_text=True)
    assert users_named(email) == []


def test_the_forgot_form_with_a_nul_is_refused_on_a_page(client):
    response = client.post("/forgot", data={"email": "a\x00@example.org", "csrf_token": form_token(client, "/forgot")})
    assert response.status_code == 422 and "NUL character" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/dashboard\r\nSet-Cookie: stolen=1", "/dashboard%0d%0aX: y", "/\\evil.example",
                                    "//evil.example", "https://evil.example/", "/ok\tthen"])
def test_a_next_with_cr_lf_or_another_host_is_ignored_after_sign_in(client, make_user, target):
    patient = make_user("patient")
    path = "/login?next=" + target.replace("\r", "%0d").replace("\n", "%0a").replace("\t", "%09")
    response = client.post(path, data={"email": patient.email, "password": "Correct-Horse-42!",
                                       "csrf_token": form_token(client, "/login")})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/dashboard", "/onboarding")
    assert "Set-Cookie: stolen" not in str(response.headers) and "stolen" not in response.headers.get("Set-Cookie", "")


def test_a_plain_next_is_still_followed(client, make_user):
    patient = make_user("patient")
    response = client.post("/login?next=/doctors?q=Martin", data={
        "email": patient.email, "password": "Correct-Horse-42!", "csrf_token": form_token(client, "/login")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/doctors?q=Martin")


def dash_body(output: str, outputs, inputs, state=(), changed=()) -> str:
    return json.dumps({"output": output, "outputs": outputs, "inputs": list(inputs), "state": list(state),
                       "changedPropIds": list(changed)})


ADMIN_PAGER = ('..{"type":"admin-table","view":["MATCH"]}.children...{"type":"admin-pager-status","view":["MATCH"]}'
               '.children...{"type":"admin-prev","view":["MATCH"]}.disabled...{"type":"admin-next","view":["MATCH"]}'
               '.disabled...{"type":"admin-page","view":["MATCH"]}.data..')


def pager(view, page=1, clicks=1) -> str:
    ids = [{"type": t, "view": view} for t in ("admin-table", "admin-pager-status", "admin-prev", "admin-next",
                                               "admin-page")]
    outputs = [{"id": i, "property": p} for i, p in zip(ids, ("children", "children", "disabled", "disabled",
                                                              "data"), strict=True)]
    inputs = [{"id": ids[2], "property": "n_clicks", "value": clicks}, {"id": ids[3], "property": "n_clicks",
                                                                        "value": None},
              {"id": "admin-range", "property": "data", "value": "week"},
              {"id": {"type": "admin-query", "view": view}, "property": "data", "value": None},
              {"id": "admin-act-done", "property": "data", "value": 0}]
    return dash_body(ADMIN_PAGER, outputs, inputs, [{"id": ids[4], "property": "data", "value": page}],
                     [json.dumps(ids[2], separators=(",", ":"), sort_keys=True) + ".n_clicks"])


@pytest.mark.parametrize(("body", "why"), [
    ("{}", "shape"), ('{"output": 1}', "shape"), ("[]", "shape"),
    (dash_body("nobody.children", {"id": "nobody", "property": "children"}, []), "unknown callback"),
    (pager(["MATCH"]), "a wildcard in a request id"),
    (pager("appointments", clicks="1"), "n_clicks as text"),
    (pager("appointments", clicks=True), "n_clicks as a boolean"),
])
def test_malformed_or_forged_dash_callbacks_are_400(client, make_user, login, body, why):
    login(make_user("admin").email)
    client.get("/admin/")  # the portal sets the CSRF cookie its callbacks send back
    csrf = client.get_cookie("_csrf_token", path="/admin/").value
    response = client.post("/admin/_dash-update-component", data=body, content_type="application/json",
                           headers={"X-CSRFToken": csrf})
    assert error_of(response, 400, "ERR_BAD_REQUEST"), why


def test_a_genuine_pager_callback_still_works_and_a_forged_page_number_falls_back(client, make_user, login):
    login(make_user("admin").email)
    client.get("/admin/")
    csrf = {"X-CSRFToken": client.get_cookie("_csrf_token", path="/admin/").value}
    good = client.post("/admin/_dash-update-component", data=pager("appointments"), content_type="application/json",
                       headers=csrf)
    assert good.status_code == 200, good.get_data(as_text=True)
    odd = client.post("/admin/_dash-update-component", data=pager("appointments", page=[3]),
                      content_type="application/json", headers=csrf)
    assert odd.status_code == 200, odd.get_data(as_text=True)
