"""Video (SPEC §10, §12): the device self-test — the /devices page, the bandwidth probes and
`POST /api/video-test/result` — and joining a consultation — `GET /api/appointments/<id>/join` and
the join page /visit/<id>. Thin: every rule lives in core.video."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Literal

from flask import Response as FlaskResponse
from flask import render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user
from pydantic import Field, StrictBool, model_validator
from spectree import Response

from core import runtime
from core.errors import InvalidTransition, PayloadTooLarge, TimeWindow, VideoTestRequired
from core.i18n import N_
from core.video import ice, policy, room
from core.video.joining import JoinSession, join_session
from core.video.readiness import latest_test_of, record_test
from core.video.zoom import SessionSigner
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.auth import require_role
from portals.limits import limiter
from portals.patient import patient

PARTICIPANTS = ("patient", "doctor")
DETAILS_MAX_BYTES = 2048  # the measured numbers fit in a few hundred bytes
# Bandwidth probes: the browser grows the payload ×4 while a transfer takes under ~0.4 s, so a slow
# line is measured with a small payload and a fast one with a payload big enough to time well.
PROBE_DOWNLOAD_MIN, PROBE_DOWNLOAD_MAX = 16 * 1024, 4 * 1024 * 1024
PROBE_UPLOAD_MAX = 1024 * 1024  # also Flask's MAX_CONTENT_LENGTH
PROBE_CHUNK = 64 * 1024
PER_USER_PROBES = "60 per minute"  # one wizard run makes at most 8 probes
PER_USER_RESULTS = "30 per minute"


def signer() -> SessionSigner:
    settings = runtime.current().settings
    return SessionSigner.from_settings(sdk_key=settings.zoom_sdk_key, sdk_secret=settings.zoom_sdk_secret,
                                       secret_key=settings.secret_key)


def _user_key() -> str:
    """Per signed-in user (the video endpoints are for them only); the address before sign-in."""
    return f"user:{current_user.id}" if current_user.is_authenticated else f"ip:{get_remote_address()}"


def stun_required() -> bool:
    settings = runtime.current().settings
    return policy.stun_required(video_provider=settings.video_provider, turn_configured=bool(settings.turn_urls))


@patient.app_template_global()
def video_stun_optional() -> bool:
    """Whether the wizard shows an unreachable STUN server as a warning (SPEC §16)."""
    return not stun_required()


@patient.app_template_global()
def video_stun_url() -> str:
    """The STUN server the wizard's reachability step asks (STUN_URL, else our own STUN/TURN)."""
    s = runtime.current().settings
    return ice.device_test_stun_url(stun_url=s.stun_url, stun_urls=s.stun_urls, turn_urls=s.turn_urls,
                                    video_provider=s.video_provider)


# ---- the self-test result ----

class _Step(ApiModel):
    error: str | None = Field(default=None, max_length=80, description="the browser's error name, if any")


class CameraDetails(_Step):
    width: int | None = Field(default=None, ge=0, le=10_000, description="from the track's settings")
    height: int | None = Field(default=None, ge=0, le=10_000)
    frame_rate: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)


class MicrophoneDetails(_Step):
    rms_dbfs: float | None = Field(default=None, ge=-200, le=0, allow_inf_nan=False,
                                   description="loudest 50 ms RMS level heard, dBFS")


class BandwidthDetails(_Step):
    down_mbps: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    up_mbps: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    down_bytes: int | None = Field(default=None, ge=0, le=64 * 1024 * 1024)
    up_bytes: int | None = Field(default=None, ge=0, le=64 * 1024 * 1024)


class EchoDetails(_Step):
    score: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False,
                                description="peak normalised cross-correlation of the reference chirp "
                                            "and the microphone signal")


class StunDetails(_Step):
    reachable: bool = False
    rtt_ms: float | None = Field(default=None, ge=0, le=60_000, allow_inf_nan=False)
    candidate_type: Literal["srflx", "host"] | None = Field(
        default=None, description="srflx: a server-reflexive candidate came back; host: the binding succeeded "
                                  "and the mapped address is the device's own (no NAT)")


class TestDetails(ApiModel):
    camera: CameraDetails | None = None
    microphone: MicrophoneDetails | None = None
    bandwidth: BandwidthDetails | None = None
    echo: EchoDetails | None = None
    stun: StunDetails | None = None
    user_agent: str | None = Field(default=None, max_length=300)

    @model_validator(mode="before")
    @classmethod
    def _small(cls, data):
        if len(json.dumps(data, default=str).encode()) > DETAILS_MAX_BYTES:
            raise ValueError(f"details must be at most {DETAILS_MAX_BYTES} bytes of JSON")
        return data

    def measurements(self) -> policy.Measurements:
        c, m, b, e, s = self.camera, self.microphone, self.bandwidth, self.echo, self.stun
        return policy.Measurements(
            camera_width=c.width if c else None, camera_height=c.height if c else None,
            mic_rms_dbfs=m.rms_dbfs if m else None,
            down_mbps=b.down_mbps if b else None, up_mbps=b.up_mbps if b else None,
            echo_score=e.score if e else None,
            stun_reachable=s.reachable if s else None, stun_rtt_ms=s.rtt_ms if s else None)


class TestResultIn(ApiModel):
    appointment_id: uuid.UUID | None = Field(default=None, description="none for a test from /devices")
    passed: StrictBool
    details: TestDetails


class TestResultOut(ApiModel):
    id: uuid.UUID
    appointment_id: uuid.UUID | None
    passed: bool
    outcome: str = Field(description="passed | audio_only | failed (the server's verdict)")
    checks: dict[str, bool]
    tested_at: datetime
    valid_until: datetime | None = Field(description="joining accepts this test until then")


@api_route(patient.post("/api/video-test/result"), role=PARTICIPANTS,
           guards=[limiter.limit(PER_USER_RESULTS, key_func=_user_key)], json=TestResultIn,
           resp=Response(HTTP_201=TestResultOut, HTTP_403=ErrorEnvelope, HTTP_404=ErrorEnvelope, HTTP_422=ErrorEnvelope,
                         HTTP_429=ErrorEnvelope), tags=["video"])
def api_video_test_result():
    """Record a device self-test (SPEC §10). The server re-checks `passed` against the thresholds
    from the numbers in `details` (camera ≥ 640×480, microphone > −45 dBFS, ≥ 1.2 Mbps down and up,
    echo score < 0.3, STUN reachable within 5 s): a `passed: true` whose numbers fail is 422
    ERR_VALIDATION with `details.failedSteps`. A passing test without a camera is stored as
    `audio_only`. `appointmentId` must be one the caller takes part in (404 otherwise)."""
    body: TestResultIn = request.context.json
    recorded = record_test(current_user.actor, appointment_id=body.appointment_id, claimed_passed=body.passed,
                           measurements=body.details.measurements(),
                           details=body.details.model_dump(mode="json", by_alias=True, exclude_none=True),
                           stun_required=stun_required())
    return to_json(TestResultOut.model_validate(recorded), 201)


# ---- bandwidth probes ----

class DownloadQuery(ApiModel):
    bytes: int = Field(default=256 * 1024, ge=PROBE_DOWNLOAD_MIN, le=PROBE_DOWNLOAD_MAX)


class UploadOut(ApiModel):
    received_bytes: int


def _uncached(response: FlaskResponse) -> FlaskResponse:
    # no-transform: no proxy may compress or re-encode the payload we are timing.
    response.headers["Cache-Control"] = "no-store, no-transform"
    return response


@api_route(patient.get("/api/video-test/download"), role=PARTICIPANTS,
           guards=[limiter.limit(PER_USER_PROBES, key_func=_user_key)], query=DownloadQuery,
           resp=Response("HTTP_200", HTTP_401=ErrorEnvelope, HTTP_422=ErrorEnvelope, HTTP_429=ErrorEnvelope),
           tags=["video"])
def api_probe_download():
    """Download probe: `bytes` random bytes (16 KiB–4 MiB), never cached or compressed (random
    bytes do not compress anyway), for the wizard to time. 60 probes a minute per user."""
    size = request.context.query.bytes
    return _uncached(FlaskResponse(os.urandom(size), mimetype="application/octet-stream",
                                   headers={"Content-Length": str(size)}))


@api_route(patient.post("/api/video-test/upload"), role=PARTICIPANTS,
           guards=[limiter.limit(PER_USER_PROBES, key_func=_user_key)],
           resp=Response(HTTP_200=UploadOut, HTTP_401=ErrorEnvelope, HTTP_413=ErrorEnvelope, HTTP_429=ErrorEnvelope),
           tags=["video"])
def api_probe_upload():
    """Upload probe: any body (application/octet-stream) up to 1 MiB, read and thrown away;
    answers how many bytes arrived. 413 beyond the limit, 60 probes a minute per user."""
    declared = request.content_length
    if (declared or 0) > PROBE_UPLOAD_MAX:
        raise PayloadTooLarge(N_("The upload probe takes at most %(count)d bytes."), params={"count": PROBE_UPLOAD_MAX})
    # Read the declared length and no further: behind gunicorn the stream is capped at the maximum,
    # and reading past a body of exactly that size would raise 413.
    remaining = PROBE_UPLOAD_MAX + 1 if declared is None else declared
    received = 0
    while remaining > 0 and (chunk := request.stream.read(min(PROBE_CHUNK, remaining))):
        received += len(chunk)
        remaining -= len(chunk)
    if received > PROBE_UPLOAD_MAX:
        raise PayloadTooLarge(N_("The upload probe takes at most %(count)d bytes."), params={"count": PROBE_UPLOAD_MAX})
    response, status = to_json(UploadOut(received_bytes=received))
    return _uncached(response), status


# ---- joining ----

class JoinOut(ApiModel):
    appointment_id: uuid.UUID
    provider: str = Field(description="zoom, or development without ZOOM_SDK_KEY/ZOOM_SDK_SECRET (no call)")
    session_name: str = Field(description="the Video SDK session (the JWT's tpc)")
    signature: str = Field(description="Zoom Video SDK JWT (HS256)")
    sdk_key: str
    role: str = Field(description="host (the doctor) | attendee (the patient)")
    role_type: int = Field(description="the JWT's role_type: 1 host, 0 attendee")
    user_name: str
    user_identity: str
    issued_at: datetime
    expires_at: datetime
    opens_at: datetime
    closes_at: datetime
    tested_at: datetime
    test_outcome: str
    join_url: str = Field(description="the join page")


def join_out(session: JoinSession) -> JoinOut:
    signed = session.signed
    return JoinOut(appointment_id=session.appointment_id, provider=session.provider,
                   session_name=signed.session_name, signature=signed.token, sdk_key=session.app_key,
                   role=session.zoom_role, role_type=signed.role_type, user_name=session.user_name,
                   user_identity=signed.claims["user_identity"], issued_at=signed.issued_at,
                   expires_at=signed.expires_at, opens_at=session.opens_at, closes_at=session.closes_at,
                   tested_at=session.test.tested_at, test_outcome=session.test.outcome,
                   join_url=url_for("patient.visit", appointment_id=session.appointment_id))


@api_route(patient.get("/api/appointments/<uuid:appointment_id>/join"), role=PARTICIPANTS,
           resp=Response(HTTP_200=JoinOut, HTTP_403=ErrorEnvelope, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope,
                         HTTP_422=ErrorEnvelope), tags=["video"])
def api_join(appointment_id: uuid.UUID):
    """The video session of a consultation, for its patient or its doctor only (SPEC §12): the
    Zoom Video SDK signature (host for the doctor, attendee for the patient, session bound to the
    appointment, 30-minute expiry). 422 ERR_TIME_WINDOW outside 5 min before → 30 min after the
    start; 409 ERR_VIDEO_TEST_REQUIRED without a passed device test in the last 24 h (the doctor
    too); 409 ERR_INVALID_STATE unless the consultation is booked."""
    return to_json(join_out(join_session(current_user.actor, appointment_id, signer())))


# ---- pages ----

def _no_store(html: str, status: int = 200):
    return html, status, {"Cache-Control": "no-store"}


@patient.get("/devices")
@require_role(*PARTICIPANTS)
def devices():
    """The device test without an appointment (the doctor's "Test devices" comes here too)."""
    return _no_store(render_template("patient/devices.html", latest=latest_test_of(current_user.actor),
                                     valid_for=policy.TEST_VALID_FOR))


@patient.get("/visit/<uuid:appointment_id>")
@require_role(*PARTICIPANTS)
def visit(appointment_id: uuid.UUID):
    """The consultation page, the same for both sides, at any time (SPEC §16). With
    VIDEO_PROVIDER=webrtc: the waiting room before the window, which becomes the room by itself.
    With zoom: Zoom's Video SDK is loaded here only, and only when Zoom is configured; without keys
    it says so, and shows the session it would join; no call pretends to connect."""
    settings = runtime.current().settings
    if settings.video_provider == "webrtc":
        view = room.room_view(current_user.actor, appointment_id)
        return _no_store(render_template("patient/room.html", view=view))
    try:
        session = join_session(current_user.actor, appointment_id, signer())
    except (TimeWindow, VideoTestRequired, InvalidTransition) as refused:
        return _no_store(render_template("patient/visit.html", session=None, refusal=refused,
                                         appointment_id=appointment_id), refused.status)
    return _no_store(render_template("patient/visit.html", session=session, refusal=None,
                                     appointment_id=appointment_id, zoom_script=settings.zoom_sdk_script_url))
