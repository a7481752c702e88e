"""GET /api/appointments/<id>/join and the join page (SPEC §10, §12): participants only, the window
from 5 minutes before to 30 minutes after the start, a passed test in the last 24 hours (the doctor
too), and a Zoom Video SDK signature whose claims verify with PyJWT."""

import dataclasses
import re
from datetime import timedelta

import jwt
import pytest

from core.video.zoom import DEV_APP_KEY, development_secret
from tests.integration.video.conftest import START


def claims_of(body: dict, secret: str, key: str = DEV_APP_KEY) -> dict:
    claims = jwt.decode(body["signature"], secret, algorithms=["HS256"])
    assert claims["app_key"] == key == body["sdkKey"] and claims["version"] == 1
    return claims


@pytest.fixture
def dev_secret(app) -> str:
    return development_secret(app.extensions["doktu"].settings.secret_key)


def test_a_patient_joins_in_the_window_with_a_passed_test(consultation, login, client, post_result, clock_at, dev_secret):
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=8))
    login(patient.email)
    assert post_result(appointment).status_code == 201
    clock_at(START - timedelta(minutes=5))
    response = client.get(f"/api/appointments/{appointment}/join")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    claims = claims_of(body, dev_secret)
    assert claims["tpc"] == body["sessionName"] == f"doktu-{appointment}"
    assert claims["role_type"] == body["roleType"] == 0 and body["role"] == "attendee"
    assert claims["user_identity"] == patient.user.id.hex == body["userIdentity"]
    assert claims["exp"] - claims["iat"] == 1800
    assert body["provider"] == "development" and body["joinUrl"] == f"/visit/{appointment}"
    assert body["testOutcome"] == "passed" and body["opensAt"].startswith("2026-03-03T12:55:00")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_doctor_needs_a_test_too_and_joins_as_host(consultation, doctor, login, client, post_result, clock_at,
                                                       dev_secret):
    _patient, appointment = consultation()
    clock_at(START)
    login(doctor.email)
    refused = client.get(f"/api/appointments/{appointment}/join")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "ERR_VIDEO_TEST_REQUIRED"
    assert post_result(None).status_code == 201  # from /devices: a test for no appointment counts
    body = client.get(f"/api/appointments/{appointment}/join").get_json()
    claims = claims_of(body, dev_secret)
    assert (claims["role_type"], body["role"], body["userName"]) == (1, "host", "Dr Paris")


@pytest.mark.parametrize(("offset", "status"), [
    (-timedelta(minutes=5, seconds=1), 422),
    (-timedelta(minutes=5), 200),
    (-timedelta(minutes=4, seconds=59), 200),
    (timedelta(minutes=30), 200),
    (timedelta(minutes=30, seconds=1), 422),
])
def test_the_window_edges(consultation, login, client, post_result, clock_at, offset, status):
    patient, appointment = consultation()
    clock_at(START - timedelta(hours=2))
    login(patient.email)
    post_result(appointment)
    clock_at(START + offset)
    response = client.get(f"/api/appointments/{appointment}/join")
    assert response.status_code == status
    if status == 422:
        assert response.get_json()["error"]["code"] == "ERR_TIME_WINDOW"


@pytest.mark.parametrize(("age", "status"), [(timedelta(hours=23, minutes=59), 200),
                                             (timedelta(hours=24, minutes=1), 409)])
def test_a_test_counts_for_24_hours(consultation, login, client, post_result, clock_at, age, status):
    patient, appointment = consultation()
    clock_at(START - age)
    login(patient.email)
    assert post_result(appointment).status_code == 201
    clock_at(START)
    login(patient.email)  # the 12-hour session has ended meanwhile
    response = client.get(f"/api/appointments/{appointment}/join")
    assert response.status_code == status
    if status == 409:
        assert response.get_json()["error"]["code"] == "ERR_VIDEO_TEST_REQUIRED"


def test_a_later_failed_test_replaces_the_pass(consultation, login, client, post_result, clock_at):
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=20))
    login(patient.email)
    post_result(appointment)
    clock_at(START - timedelta(minutes=10))
    post_result(appointment, passed=False, microphone={"error": "NotFoundError"}, echo={"error": "NoMicrophone"})
    clock_at(START)
    error = client.get(f"/api/appointments/{appointment}/join").get_json()["error"]
    assert error["code"] == "ERR_VIDEO_TEST_REQUIRED" and "did not pass" in error["message"]


def test_audio_only_may_join(consultation, login, client, post_result, clock_at):
    patient, appointment = consultation()
    clock_at(START)
    login(patient.email)
    post_result(appointment, camera={"error": "NotFoundError"})
    assert client.get(f"/api/appointments/{appointment}/join").status_code == 200


def test_participants_only(consultation, onboarded, make_user, login, client, post_result, clock_at):
    _patient, appointment = consultation()
    clock_at(START)
    assert client.get(f"/api/appointments/{appointment}/join").status_code == 401
    other = onboarded()
    login(other.email)
    post_result(None)
    response = client.get(f"/api/appointments/{appointment}/join")
    assert response.status_code == 404  # row-level security hides it
    client.delete_cookie("doktu_session")
    login(make_user("doctor").email)
    post_result(None)
    assert client.get(f"/api/appointments/{appointment}/join").status_code == 404
    client.delete_cookie("doktu_session")
    login(make_user("admin").email)
    assert client.get(f"/api/appointments/{appointment}/join").status_code == 403


def test_a_cancelled_consultation_cannot_be_joined(consultation, login, client, post_result, clock_at):
    from core.booking import changes

    patient, appointment = consultation()
    login(patient.email)
    post_result(appointment)
    changes.cancel(patient.actor, appointment, None, refund_as="card")
    error = client.get(f"/api/appointments/{appointment}/join").get_json()["error"]
    assert error["code"] == "ERR_INVALID_STATE"


# ---- the join page (VIDEO_PROVIDER=zoom; webrtc's room is tests/integration/video/test_room.py) ----

@pytest.fixture
def zoom_provider(app, monkeypatch):
    state = app.extensions["doktu"]
    zoom = dataclasses.replace(state.settings, video_provider="zoom")
    monkeypatch.setattr(state, "settings", zoom)
    return zoom

def test_the_join_page_without_zoom_keys_says_so_and_shows_the_claims(consultation, login, client, post_result,
                                                                       clock_at, dev_secret, zoom_provider):
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=2))
    login(patient.email)
    post_result(appointment)
    page = client.get(f"/visit/{appointment}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "No video call on this server" in html and "ZOOM_SDK_KEY" in html
    assert f"doktu-{appointment}" in html and "attendee (0)" in html
    assert "zoom.us" not in html and "visit.js" not in html  # nothing of Zoom's is loaded
    token = re.search(r"<code data-dk-signature>([^<]+)</code>", html).group(1)
    assert jwt.decode(token, dev_secret, algorithms=["HS256"])["tpc"] == f"doktu-{appointment}"


def test_the_join_page_with_zoom_keys_loads_the_sdk_there_only(consultation, login, client, post_result, clock_at,
                                                                app, monkeypatch):
    state = app.extensions["doktu"]
    zoomed = dataclasses.replace(state.settings, video_provider="zoom", zoom_sdk_key="zoom-key", zoom_sdk_secret="zoom-secret-" + "z" * 30)
    monkeypatch.setattr(state, "settings", zoomed)
    patient, appointment = consultation()
    clock_at(START)
    login(patient.email)
    post_result(appointment)
    html = client.get(f"/visit/{appointment}").get_data(as_text=True)
    assert f'<script src="{zoomed.zoom_sdk_script_url}" defer></script>' in html and "js/visit.js" in html
    assert "No video call on this server" not in html
    token = re.search(r'data-signature="([^"]+)"', html).group(1)
    claims = jwt.decode(token, zoomed.zoom_sdk_secret, algorithms=["HS256"])
    assert claims["app_key"] == "zoom-key" and claims["tpc"] == f"doktu-{appointment}" and claims["role_type"] == 0
    assert client.get(f"/api/appointments/{appointment}/join").get_json()["provider"] == "zoom"
    for path in ("/dashboard", "/devices"):
        assert "zoom.us" not in client.get(path).get_data(as_text=True)


def test_the_join_page_outside_the_window_explains(consultation, login, client, clock_at, zoom_provider):
    patient, appointment = consultation()
    login(patient.email)
    page = client.get(f"/visit/{appointment}")
    assert page.status_code == 422 and "The video room opens 5 minutes before the start." in page.get_data(as_text=True)
    clock_at(START)
    login(patient.email)
    page = client.get(f"/visit/{appointment}")
    html = page.get_data(as_text=True)
    assert page.status_code == 409 and "Run the device test first" in html and 'href="/devices"' in html


def test_the_devices_page_shows_the_last_test(onboarded, doctor, login, client, post_result):
    patient = onboarded()
    login(patient.email)
    html = client.get("/devices").get_data(as_text=True)
    assert "Start the device test" in html and "data-dk-last-test" not in html
    # webrtc with no STUN/TURN configured: the wizard asks no third party; the step is only a note.
    assert 'data-stun-url=""' in html and 'data-stun-optional="yes"' in html
    post_result(None, camera={"error": "NotAllowedError"})
    html = client.get("/devices").get_data(as_text=True)
    assert "Your last test passed for audio only (no camera)" in html
    client.delete_cookie("doktu_session")
    login(doctor.email)
    assert client.get("/devices").status_code == 200


# ---- the dashboard's Join button ----

def test_the_dashboard_join_button_explains_why_it_is_disabled(consultation, login, client, post_result, clock_at):
    patient, appointment = consultation()
    login(patient.email)
    html = client.get("/dashboard").get_data(as_text=True)
    box = re.search(rf'<div class="dk-video-join" data-dk-join="{appointment}".*?</div>', html, re.S).group(0)
    assert "disabled" in box and "The video room opens at 13:55, 5 minutes before the start." in box
    assert f'data-appointment="{appointment}"' in box and "Test devices" in box
    clock_at(START - timedelta(minutes=5))
    login(patient.email)
    html = client.get("/dashboard").get_data(as_text=True)
    box = re.search(rf'<div class="dk-video-join" data-dk-join="{appointment}".*?</div>', html, re.S).group(0)
    assert 'data-dk-join-code="ERR_VIDEO_TEST_REQUIRED"' in box and "Run the device test first" in box
    post_result(appointment)
    html = client.get("/dashboard").get_data(as_text=True)
    box = re.search(rf'<div class="dk-video-join" data-dk-join="{appointment}".*?</div>', html, re.S).group(0)
    assert f'<a class="dk-btn" href="/visit/{appointment}"' in box and "disabled" not in box


def test_in_the_join_window_the_dashboard_banner_says_the_room_is_open(consultation, login, client, post_result,
                                                                       clock_at):
    """Issue 24: the banner said "opens 5 minutes before" while the room was already open."""
    patient, appointment = consultation()
    clock_at(START - timedelta(minutes=8))
    login(patient.email)
    banner = re.search(r'<p class="dk-alert dk-alert--info" role="status">(.*?)</p>',
                       client.get("/dashboard").get_data(as_text=True), re.S).group(1)
    assert "The video room opens 5 minutes before" in banner
    clock_at(START - timedelta(minutes=4))
    banner = re.search(r'<p class="dk-alert dk-alert--info" role="status">(.*?)</p>',
                       client.get("/dashboard").get_data(as_text=True), re.S).group(1)
    assert "The video room is open" in banner and "opens" not in banner and "Test devices" in banner
    post_result(appointment)
    banner = re.search(r'<p class="dk-alert dk-alert--info" role="status">(.*?)</p>',
                       client.get("/dashboard").get_data(as_text=True), re.S).group(1)
    assert "The video room is open: join when you are ready." in banner


def test_the_monthly_reschedule_tally_shows_only_with_something_to_reschedule(consultation, login, client,
                                                                             clock_at):
    """Issue 24: "Reschedules this month: 0 of 5" on a dashboard with nothing ahead is noise."""
    patient, _ = consultation()
    clock_at(START - timedelta(days=2))
    login(patient.email)
    assert "Reschedules this month: 0 of 5." in client.get("/dashboard").get_data(as_text=True)
    clock_at(START + timedelta(hours=2))  # the consultation is over: nothing ahead
    login(patient.email)  # the session of two days ago has run out
    html = client.get("/dashboard").get_data(as_text=True)
    assert "You have no upcoming consultation." in html and "Reschedules this month" not in html


def test_the_zoom_join_page_in_french_embeds_visit_js_strings(consultation, login, client, post_result, clock_at,
                                                                app, monkeypatch):
    """SPEC §20: visit.js's status texts and buttons come translated with the page."""
    import json

    state = app.extensions["doktu"]
    zoomed = dataclasses.replace(state.settings, video_provider="zoom", zoom_sdk_key="zoom-key",
                                 zoom_sdk_secret="zoom-secret-" + "z" * 30)
    monkeypatch.setattr(state, "settings", zoomed)
    patient, appointment = consultation()
    clock_at(START)
    login(patient.email)
    post_result(appointment)
    client.set_cookie("doktu_lang", "fr")
    html = client.get(f"/visit/{appointment}").get_data(as_text=True)
    block = re.search(r'<script type="application/json" data-dk-i18n>(.*?)</script>', html).group(1)
    strings = json.loads(block)
    assert strings["You are in the consultation."] == "Vous êtes dans la consultation."
    assert strings["Unmute microphone"] == "Réactiver le micro"
    assert html.index("data-dk-i18n") < html.index("js/visit.js")
