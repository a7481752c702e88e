"""The video rules (SPEC §10, §12) as pure functions over plain values: no database, no web framework.

- **Join window**: from 5 minutes before the start to 30 minutes after it, both ends included
  (4:59 and 5:00 before are in, 5:01 before is out; 30:00 after is in, 30:01 after is out).
- **Fresh test**: the user's *latest* device test must have passed (`passed` or `audio_only`) and be
  at most 24 hours old (23:59 h passes, 24:01 h does not). A later failed test replaces an earlier
  pass: it says the devices do not work now. Doctors need one too.
- **Readiness thresholds** the server re-checks from the measured numbers, never trusting the
  browser's `passed` flag alone: camera ≥ 640×480 (from the track's real settings); microphone RMS
  > −45 dBFS; bandwidth ≥ 1.2 Mbps down and up (against our server); echo score < 0.3; a STUN
  binding response within 5 s. A working microphone without a camera passes as `audio_only`.

The echo score (computed in the browser, `portals/static/js/device-test.js`): the wizard plays a
known reference — a 0.5 s linear chirp from 400 to 2400 Hz — through the speakers while recording
the microphone, and takes the peak of the normalised cross-correlation between the two,
max over lags τ of |Σ r(t)·m(t+τ)| / √(Σ r(t)² · Σ m(t+τ)²), which lies in [0, 1]: 0 when the
microphone hears none of the reference, 1 when it hears an exact (scaled) copy. It is measured on
the microphone signal *after* the browser's echo cancellation (the constraints of the call), so
it is the echo the other side would hear. Below 0.3 passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.booking.lifecycle import is_booked
from core.errors import DomainError, InvalidTransition, TimeWindow, VideoTestRequired
from core.i18n import N_

JOIN_OPENS = timedelta(minutes=5)  # before the start
JOIN_CLOSES = timedelta(minutes=30)  # after the start
TEST_VALID_FOR = timedelta(hours=24)

MIN_WIDTH, MIN_HEIGHT = 640, 480
MIN_MIC_DBFS = -45.0  # strictly above
MIN_MBPS = 1.2  # at least, both ways
MAX_ECHO_SCORE = 0.3  # strictly below
STUN_TIMEOUT_MS = 5000

PASSING_OUTCOMES = ("passed", "audio_only")
STEPS = ("camera", "microphone", "bandwidth", "echo", "stun")


# ---- the join rule ----

def join_window(start: datetime) -> tuple[datetime, datetime]:
    """When the video room is open for a consultation starting at `start`: [opens, closes]."""
    return start - JOIN_OPENS, start + JOIN_CLOSES


def in_join_window(now: datetime, start: datetime) -> bool:
    opens, closes = join_window(start)
    return opens <= now <= closes


@dataclass(frozen=True)
class LastTest:
    """The user's latest device test: when, and how it ended."""

    tested_at: datetime
    outcome: str  # passed | audio_only | failed


def is_fresh(now: datetime, test: LastTest | None) -> bool:
    """Did the latest test pass, at most 24 hours ago?"""
    return (test is not None and test.outcome in PASSING_OUTCOMES
            and timedelta(0) <= now - test.tested_at <= TEST_VALID_FOR)


def check_join(*, now: datetime, start: datetime, status: str, latest_test: LastTest | None) -> None:
    """May a participant join the video session now? Raises ERR_INVALID_STATE (not booked),
    ERR_TIME_WINDOW (outside the window) or ERR_VIDEO_TEST_REQUIRED (no fresh passing test)."""
    opens, closes = join_window(start)
    if not is_booked(status):
        words = {"pending": "is not paid yet", "cancelled": "was cancelled", "completed": "has ended",
                 "no_show": "was missed"}
        raise InvalidTransition(f"This consultation {words.get(status, 'cannot be joined')}.",
                                details={"status": status})
    if now < opens:
        raise TimeWindow(N_("The video room opens 5 minutes before the start."),
                         details={"when": "early", "opensAt": opens.isoformat(), "closesAt": closes.isoformat()})
    if now > closes:
        raise TimeWindow(N_("The video room closed 30 minutes after the start."),
                         details={"when": "late", "opensAt": opens.isoformat(), "closesAt": closes.isoformat()})
    if not is_fresh(now, latest_test):
        if latest_test is not None and latest_test.outcome not in PASSING_OUTCOMES \
                and now - latest_test.tested_at <= TEST_VALID_FOR:
            message = "Your last device test did not pass. Fix what it found and run it again before joining."
        else:
            message = "Run the device test first: joining needs a passed test from the last 24 hours."
        raise VideoTestRequired(message, details={
            "lastTestAt": latest_test.tested_at.isoformat() if latest_test else None,
            "lastOutcome": latest_test.outcome if latest_test else None})


def join_refusal(**kwargs) -> DomainError | None:
    """The error `check_join` would raise, or None: for pages that enable the Join button."""
    try:
        check_join(**kwargs)
    except DomainError as refused:
        return refused
    return None


# ---- the readiness thresholds ----

@dataclass(frozen=True)
class Measurements:
    """What the browser measured; None = the step could not measure (denied, missing, error)."""

    camera_width: int | None = None
    camera_height: int | None = None
    mic_rms_dbfs: float | None = None
    down_mbps: float | None = None
    up_mbps: float | None = None
    echo_score: float | None = None
    stun_reachable: bool | None = None
    stun_rtt_ms: float | None = None


@dataclass(frozen=True)
class Assessment:
    checks: dict[str, bool] = field(default_factory=dict)  # step -> passed
    stun_required: bool = True

    @property
    def failed_steps(self) -> list[str]:
        """The steps that failed and count: an unreachable STUN server is only a warning when the
        call can be relayed (SPEC §16)."""
        return [step for step in STEPS if not self.checks.get(step) and (step != "stun" or self.stun_required)]

    @property
    def warnings(self) -> list[str]:
        return [step for step in STEPS if not self.checks.get(step) and step not in self.failed_steps]

    @property
    def outcome(self) -> str:
        """`passed` when every step passed; `audio_only` when only the camera failed (a working
        microphone without a camera); else `failed`."""
        failed = self.failed_steps
        if not failed:
            return "passed"
        return "audio_only" if failed == ["camera"] else "failed"

    @property
    def passed(self) -> bool:
        return self.outcome in PASSING_OUTCOMES


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def stun_required(*, video_provider: str, turn_configured: bool) -> bool:
    """STUN unreachable blocks joining only where nothing can relay the call (SPEC §16): with
    `webrtc` (our TURN, or a direct path) or a configured TURN server it is a warning."""
    return video_provider != "webrtc" and not turn_configured


def assess(m: Measurements, *, stun_required: bool = True) -> Assessment:
    """Each step against its threshold (see the module docstring), from the numbers alone."""
    width, height = m.camera_width, m.camera_height
    # A portrait camera (480×640) is as good as a landscape one: compare the long and short sides.
    camera = (width is not None and height is not None
              and max(width, height) >= MIN_WIDTH and min(width, height) >= MIN_HEIGHT)
    mic = (v := _number(m.mic_rms_dbfs)) is not None and v > MIN_MIC_DBFS
    down, up = _number(m.down_mbps), _number(m.up_mbps)
    bandwidth = down is not None and up is not None and down >= MIN_MBPS and up >= MIN_MBPS
    echo = (e := _number(m.echo_score)) is not None and 0 <= e < MAX_ECHO_SCORE
    rtt = _number(m.stun_rtt_ms)
    stun = m.stun_reachable is True and (rtt is None or rtt <= STUN_TIMEOUT_MS)
    return Assessment({"camera": camera, "microphone": mic, "bandwidth": bandwidth, "echo": echo, "stun": stun},
                      stun_required=stun_required)
