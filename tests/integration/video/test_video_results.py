"""POST /api/video-test/result (SPEC §10): participants only (RLS included), the details schema and
its size limits, and the server's own re-check of the thresholds."""

import json

import pytest
from sqlalchemy import select, text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import VideoTest
from tests.integration.video.conftest import GOOD_DETAILS


def stored(user_id) -> list[VideoTest]:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(VideoTest).where(VideoTest.user_id == user_id)))


def test_a_passing_test_is_stored_with_the_servers_checks(consultation, login, post_result):
    patient, appointment = consultation()
    login(patient.email)
    response = post_result(appointment)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["passed"], body["outcome"], body["appointmentId"]) == (True, "passed", str(appointment))
    assert body["checks"] == {"camera": True, "microphone": True, "bandwidth": True, "echo": True, "stun": True}
    assert body["validUntil"].startswith("2026-03-03T07:00:00")  # 24 h after Monday 08:00 Paris
    [row] = stored(patient.user.id)
    assert (row.outcome, row.passed, row.appointment_id) == ("passed", True, appointment)
    assert row.details["microphone"] == {"rmsDbfs": -10.4} and row.details["checks"]["echo"] is True


def test_a_test_without_an_appointment_is_fine_for_the_devices_page(onboarded, login, post_result):
    patient = onboarded()
    login(patient.email)
    assert post_result(None).get_json()["appointmentId"] is None


def test_passed_true_whose_numbers_fail_is_refused_and_nothing_is_stored(onboarded, login, post_result):
    patient = onboarded()
    login(patient.email)
    response = post_result(None, microphone={"rmsDbfs": -60.0}, echo={"score": 0.45})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "ERR_VALIDATION" and error["details"]["failedSteps"] == ["microphone", "echo"]
    assert "microphone, echo" in error["message"]
    assert stored(patient.user.id) == []


def test_passed_true_with_missing_steps_is_refused(onboarded, login, post_result):
    login(onboarded().email)
    response = post_result(None, stun=None, bandwidth={"downMbps": 9.0})  # no upload figure
    assert response.status_code == 422
    # VIDEO_PROVIDER=webrtc (the default): a missing STUN answer is a warning, not a failure (SPEC §16).
    assert response.get_json()["error"]["details"]["failedSteps"] == ["bandwidth"]


def test_stun_unreachable_passes_with_webrtc_and_fails_with_zoom_without_turn(onboarded, login, post_result, app,
                                                                             monkeypatch):
    import dataclasses


    login(onboarded().email)
    relayed = post_result(None, stun={"reachable": False, "error": "Timeout"})
    assert relayed.status_code == 201 and relayed.get_json()["outcome"] == "passed"
    assert relayed.get_json()["checks"]["stun"] is False  # the warning is kept in the stored checks
    state = app.extensions["doktu"]
    zoom = dataclasses.replace(state.settings, video_provider="zoom")
    monkeypatch.setattr(state, "settings", zoom)
    blocked = post_result(None, stun={"reachable": False, "error": "Timeout"})
    assert blocked.status_code == 422 and blocked.get_json()["error"]["details"]["failedSteps"] == ["stun"]


def test_no_camera_but_everything_else_is_stored_as_audio_only(onboarded, login, post_result):
    patient = onboarded()
    login(patient.email)
    body = post_result(None, camera={"error": "NotAllowedError"}).get_json()
    assert (body["passed"], body["outcome"]) == (True, "audio_only")
    assert stored(patient.user.id)[0].details["camera"] == {"error": "NotAllowedError"}


def test_a_result_the_browser_reports_as_failed_is_stored_as_failed(onboarded, login, post_result):
    patient = onboarded()
    login(patient.email)
    body = post_result(None, passed=False, microphone={"error": "NotFoundError"}, echo={"error": "NoMicrophone"}).get_json()
    assert (body["passed"], body["outcome"], body["validUntil"]) == (False, "failed", None)
    assert stored(patient.user.id)[0].outcome == "failed"


@pytest.mark.parametrize("body", [
    {**GOOD_DETAILS, "camera": {"width": 640, "height": 480, "brightness": 3}},  # unknown field
    {**GOOD_DETAILS, "extra": {}},
    {**GOOD_DETAILS, "echo": {"score": 1.5}},  # out of range
    {**GOOD_DETAILS, "microphone": {"rmsDbfs": 3}},
    {**GOOD_DETAILS, "camera": {"width": -1, "height": 480}},
    {**GOOD_DETAILS, "camera": {"error": "E" * 81}},  # a string too long
    {**GOOD_DETAILS, "userAgent": "x" * 301},
    {**GOOD_DETAILS, "stun": {"reachable": True, "candidateType": "relay"}},
    "not an object",
])
def test_details_follow_the_schema(onboarded, login, post_result, body):
    patient = onboarded()
    login(patient.email)
    response = post_result(None, body=body)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "ERR_VALIDATION"
    assert stored(patient.user.id) == []


def test_details_are_at_most_2_kib(onboarded, login, client, csrf_header):
    login(onboarded().email)
    padded = {**GOOD_DETAILS, "camera": {**GOOD_DETAILS["camera"], "error": "E" * 80}, "junk": ["x" * 100] * 25}
    response = client.post("/api/video-test/result", json={"passed": True, "details": padded}, headers=csrf_header())
    assert response.status_code == 422
    assert "at most 2048 bytes" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(("raw", "status"), [
    ('{"passed": "true", "details": {}}', 422),  # passed must be a JSON boolean
    ('{"passed": true}', 422),
    ('{"passed": true, "details": {"echo": {"score": NaN}}}', 400),  # NaN and Infinity are not JSON
    ('{"passed": true, "details": {"bandwidth": {"downMbps": Infinity, "upMbps": 5}}}', 400),
    ('{"passed": true, "details": {"bandwidth": {"downMbps": 1e999, "upMbps": 5}}}', 400),
    ("[]", 422),
])
def test_bad_bodies_are_4xx_not_500(onboarded, login, client, csrf_header, raw, status):
    login(onboarded().email)
    response = client.post("/api/video-test/result", data=raw, content_type="application/json", headers=csrf_header())
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == ("ERR_BAD_REQUEST" if status == 400 else "ERR_VALIDATION")


def test_a_body_over_1_mib_is_413(onboarded, login, client, csrf_header):
    login(onboarded().email)
    raw = json.dumps({"passed": True, "details": {"userAgent": "x" * (1024 * 1024 + 10)}})
    response = client.post("/api/video-test/result", data=raw, content_type="application/json", headers=csrf_header())
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "ERR_PAYLOAD_TOO_LARGE"


def test_only_a_participant_records_a_test_for_an_appointment(consultation, onboarded, make_user, login, client,
                                                              post_result, doctor):
    _patient, appointment = consultation()
    login(onboarded().email)  # another patient: row-level security hides the appointment
    response = post_result(appointment)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "ERR_NOT_FOUND"
    client.delete_cookie("doktu_session")
    login(make_user("doctor").email)  # another doctor
    assert post_result(appointment).status_code == 404
    client.delete_cookie("doktu_session")
    login(doctor.email)  # the consultation's doctor
    assert post_result(appointment).status_code == 201
    client.delete_cookie("doktu_session")
    login(make_user("admin").email)  # an admin sees it, but takes no test
    assert post_result(appointment).status_code == 403


def test_signed_out_is_401_and_the_csrf_token_is_needed(onboarded, login, client):
    body = {"passed": True, "details": GOOD_DETAILS}
    assert client.post("/api/video-test/result", json=body).status_code in (400, 401)
    login(onboarded().email)
    response = client.post("/api/video-test/result", json=body)  # no X-CSRFToken
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "ERR_CSRF"


def test_rls_a_patient_never_reads_another_patients_tests(onboarded, login, post_result):
    first, second = onboarded(), onboarded()
    login(first.email)
    assert post_result(None).status_code == 201
    with unit_of_work(second.actor) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM video_tests")).scalar() == 0
    with unit_of_work(first.actor) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM video_tests")).scalar() == 1
    with pytest.raises(Exception, match="row-level security"), unit_of_work(second.actor) as uow:
        # nor writes one in someone else's name
        uow.session.execute(text("INSERT INTO video_tests (user_id, passed, outcome) VALUES (:u, true, 'passed')"),
                            {"u": first.user.id})
