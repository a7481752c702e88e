"""Zoom Video SDK session signatures (SPEC §10), verified with PyJWT: HS256, the SDK key, role 1
(host) for the doctor and 0 (attendee) for the patient, the session bound to the appointment, and
the shortest expiry Zoom accepts (30 minutes)."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from core.video.zoom import DEV_APP_KEY, SessionSigner, development_secret, session_name

NOW = datetime(2026, 3, 3, 12, 57, 10, tzinfo=UTC)
APPOINTMENT = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
USER = uuid.UUID("6fa459ea-ee8a-3ca4-894e-db77e160355e")
ZOOM = SessionSigner.from_settings(sdk_key="sdk-key-123", sdk_secret="sdk-secret-456-0123456789abcdefghijklmnop", secret_key="x" * 40)


def verify(token: str, secret: str, key: str = "sdk-key-123") -> dict:
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "iat"], "verify_exp": False})
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims["app_key"] == key and claims["version"] == 1
    return claims


@pytest.mark.parametrize(("role", "role_type"), [("doctor", 1), ("patient", 0)])
def test_role_is_host_for_the_doctor_and_attendee_for_the_patient(role, role_type):
    signed = ZOOM.sign(appointment_id=APPOINTMENT, participant_role=role, user_id=USER, now=NOW)
    claims = verify(signed.token, "sdk-secret-456-0123456789abcdefghijklmnop")
    assert claims["role_type"] == role_type == signed.role_type


def test_the_session_is_bound_to_the_appointment():
    signed = ZOOM.sign(appointment_id=APPOINTMENT, participant_role="patient", user_id=USER, now=NOW)
    claims = verify(signed.token, "sdk-secret-456-0123456789abcdefghijklmnop")
    assert claims["tpc"] == session_name(APPOINTMENT) == f"doktu-{APPOINTMENT}"
    other = ZOOM.sign(appointment_id=uuid.uuid4(), participant_role="patient", user_id=USER, now=NOW)
    assert verify(other.token, "sdk-secret-456-0123456789abcdefghijklmnop")["tpc"] != claims["tpc"]
    assert len(claims["tpc"]) <= 200 and claims["user_identity"] == USER.hex and len(claims["user_identity"]) < 35


def test_the_expiry_is_short_30_minutes_and_iat_allows_for_clock_skew(time_machine):
    signed = ZOOM.sign(appointment_id=APPOINTMENT, participant_role="doctor", user_id=USER, now=NOW)
    claims = verify(signed.token, "sdk-secret-456-0123456789abcdefghijklmnop")
    assert claims["exp"] - claims["iat"] == 1800  # Zoom's minimum: the shortest it accepts
    assert claims["iat"] == int((NOW - timedelta(seconds=30)).timestamp())
    assert signed.expires_at == datetime.fromtimestamp(claims["exp"], UTC)
    time_machine.move_to(NOW + timedelta(minutes=29), tick=False)
    jwt.decode(signed.token, "sdk-secret-456-0123456789abcdefghijklmnop", algorithms=["HS256"])  # still valid
    time_machine.move_to(NOW + timedelta(minutes=30), tick=False)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(signed.token, "sdk-secret-456-0123456789abcdefghijklmnop", algorithms=["HS256"])


def test_another_secret_does_not_verify():
    signed = ZOOM.sign(appointment_id=APPOINTMENT, participant_role="patient", user_id=USER, now=NOW)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(signed.token, "not-the-secret-0123456789abcdefghijklmnop", algorithms=["HS256"], options={"verify_exp": False})


def test_without_zoom_keys_the_same_claims_are_signed_with_a_development_key():
    dev = SessionSigner.from_settings(sdk_key=None, sdk_secret=None, secret_key="s" * 48)
    assert (dev.configured, dev.provider, ZOOM.provider) == (False, "development", "zoom")
    signed = dev.sign(appointment_id=APPOINTMENT, participant_role="patient", user_id=USER, now=NOW)
    claims = verify(signed.token, development_secret("s" * 48), key=DEV_APP_KEY)
    assert claims["tpc"] == session_name(APPOINTMENT) and claims["role_type"] == 0
    assert development_secret("s" * 48) != "s" * 48  # never the SECRET_KEY itself
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(signed.token, "s" * 48, algorithms=["HS256"], options={"verify_exp": False})


def test_only_the_doctor_and_the_patient_get_a_signature():
    with pytest.raises(ValueError, match="only the doctor and the patient"):
        ZOOM.sign(appointment_id=APPOINTMENT, participant_role="admin", user_id=USER, now=NOW)
