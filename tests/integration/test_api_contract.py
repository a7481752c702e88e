"""SPEC §12 contract: the error envelope everywhere, no 500 on bad input, OpenAPI, role gates on
the Dash portals (pages and their _dash-* endpoints), and the operators' endpoints."""

import io
import json
import logging
import re

import pytest
import redis
from sqlalchemy.exc import OperationalError

from portals.observability import JsonFormatter


def envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] and error["requestId"]
    assert response.headers["X-Request-ID"] == error["requestId"]
    return error


def test_unknown_api_route_is_json_404(client):
    envelope(client.get("/api/nope"), 404, "ERR_NOT_FOUND")


def test_wrong_method_is_json_405_that_keeps_its_allow_header(client):
    response = client.delete("/api/doctors")
    envelope(response, 405, "ERR_METHOD_NOT_ALLOWED")
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "HEAD"}
    assert "DELETE" not in response.headers["Allow"]


def test_unparseable_json_is_400_before_any_view_runs(client):
    error = envelope(client.post("/api/auth/token", data='{"email": ', content_type="application/json"),
                     400, "ERR_BAD_REQUEST")
    assert "JSON" in error["message"]


@pytest.mark.parametrize(("body", "content_type"), [
    ("{}", "application/json"),
    ('{"email": "not-an-email", "password": "x"}', "application/json"),
    ('{"email": "a@b.org", "password": "x", "admin": true}', "application/json"),
    ("email=a@b.org&password=x", "application/x-www-form-urlencoded"),
    ('["a", "b"]', "application/json"),
])
def test_bad_token_requests_get_422_envelope(client, body, content_type):
    error = envelope(client.post("/api/auth/token", data=body, content_type=content_type), 422, "ERR_VALIDATION")
    assert len(error["message"]) > 10  # says what is wrong


def test_a_2_mb_body_is_413(client):
    envelope(client.post("/api/auth/token", data="x" * (2 * 1024 * 1024), content_type="application/json"),
             413, "ERR_PAYLOAD_TOO_LARGE")


def test_an_unexpected_error_is_a_json_500_with_the_request_id(client, monkeypatch, caplog):
    def explode(_actor):
        raise RuntimeError("boom")

    monkeypatch.setattr("portals.public.api.list_doctors", explode)
    error = envelope(client.get("/api/doctors"), 500, "ERR_INTERNAL")
    assert "boom" not in error["message"]
    assert "unhandled error" in caplog.text


def test_a_database_outage_is_503_with_retry_after(client, monkeypatch):
    def down(_actor):
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr("portals.public.api.list_doctors", down)
    response = client.get("/api/doctors")
    envelope(response, 503, "ERR_UNAVAILABLE")
    assert response.headers["Retry-After"] == "5"


def test_doctors_are_listed_in_camel_case_without_personal_data(client, make_user):
    make_user("doctor", full_name="Dr Listed", email="listed@tests.doktu.eu")
    body = client.get("/api/doctors").get_json()
    doctor = next(d for d in body["doctors"] if d["name"] == "Dr Listed")
    assert {"id", "name", "specialty", "languages", "rating", "ratingCount", "online", "rpps"} <= set(doctor)
    assert doctor["rpps"].startswith("10003") and doctor["rpps"].endswith("789")
    assert "listed@tests.doktu.eu" not in json.dumps(body)


def test_openapi_31_documents_every_api_route_from_the_models(client, app):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    api_routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json"}
    assert api_routes == set(doc["paths"])
    assert "TokenRequest" in json.dumps(doc["components"]["schemas"])


def test_bearer_token_authenticates_and_a_tampered_one_does_not(client, make_user):
    doctor = make_user("doctor")
    token = client.post("/api/auth/token", json={"email": doctor.email, "password": "Correct-Horse-42!"})
    assert token.status_code == 200 and token.get_json()["token_type"] == "bearer"
    good = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    assert client.get("/api/doctor/me", headers=good).status_code == 200
    bad = {"Authorization": f"Bearer {token.get_json()['access_token'][:-3]}abc"}
    envelope(client.get("/api/doctor/me", headers=bad), 401, "ERR_UNAUTHENTICATED")


@pytest.mark.parametrize("portal", ["doctor", "admin"])
def test_portals_send_anonymous_visitors_to_login_and_their_xhrs_get_401(client, portal):
    page = client.get(f"/{portal}/")
    assert page.status_code == 302 and page.headers["Location"] == f"/login?next=/{portal}/"
    for path in ("_dash-layout", "_dash-dependencies"):
        envelope(client.get(f"/{portal}/{path}"), 401, "ERR_UNAUTHENTICATED")
    envelope(client.post(f"/{portal}/_dash-update-component", json={}), 401, "ERR_UNAUTHENTICATED")


@pytest.mark.parametrize(("portal", "wrong", "right"), [("doctor", "patient", "doctor"), ("admin", "doctor", "admin")])
def test_portals_refuse_other_roles_with_403_and_serve_their_own(client, make_user, login, portal, wrong, right):
    login(make_user(wrong).email)
    assert client.get(f"/{portal}/").status_code == 403
    envelope(client.get(f"/{portal}/_dash-layout"), 403, "ERR_FORBIDDEN")
    client.delete_cookie("doktu_session")
    login(make_user(right).email)
    assert client.get(f"/{portal}/").status_code == 200
    assert client.get(f"/{portal}/_dash-layout").status_code == 200
    assert client.get(f"/{portal}/_dash-dependencies").status_code == 200


def test_admin_callback_needs_the_csrf_header_from_the_portal_cookie(client, make_user, login):
    login(make_user("admin").email)
    client.get("/admin/")
    cookie = client.get_cookie("_csrf_token", path="/admin/")
    body = {"output": "..admin-section.children...admin-sidebar.children..",
            "outputs": [{"id": "admin-section", "property": "children"},
                        {"id": "admin-sidebar", "property": "children"}],
            "inputs": [{"id": "admin-url", "property": "pathname", "value": "/admin/payments"}],
            "changedPropIds": ["admin-url.pathname"], "state": []}
    assert client.post("/admin/_dash-update-component", json=body).status_code == 400
    ok = client.post("/admin/_dash-update-component", json=body, headers={"X-CSRFToken": cookie.value})
    assert ok.status_code == 200 and "Payments" in ok.get_data(as_text=True)


def test_healthz_and_readyz(client, app, monkeypatch):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["checks"] == {"database": "ok", "redis": "ok"}
    monkeypatch.setattr(app.extensions["doktu"], "redis", redis.Redis(port=1, socket_connect_timeout=0.2))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["redis"].startswith("error")


def test_metrics_count_requests_by_route_pattern(client, make_user):
    doctor = make_user("doctor")
    client.get(f"/api/doctors/{doctor.doctor.id}/unified-availability")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/api/doctors/<uuid:doctor_id>/unified-availability"' in text
    assert str(doctor.doctor.id) not in text
    assert "doktu_http_request_duration_seconds_bucket" in text


def test_logs_are_json_with_request_ids_and_no_email(client, make_user):
    user = make_user("patient", email="private.person@tests.doktu.eu")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)  # setLevel, not .level: it clears the loggers' level cache
    try:
        client.post("/api/auth/token", json={"email": user.email, "password": "wrong-Password-1"},
                    headers={"X-Request-ID": "req-12345678"})
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    lines = stream.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert any(p.get("requestId") == "req-12345678" for p in parsed)
    assert "private.person" not in "\n".join(lines)


def test_unsafe_request_ids_are_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces" and len(response.headers["X-Request-ID"]) == 32
