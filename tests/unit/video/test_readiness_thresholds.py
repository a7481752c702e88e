"""The readiness thresholds the server re-checks (SPEC §10): camera ≥ 640×480, microphone > −45 dBFS,
≥ 1.2 Mbps down and up, echo score < 0.3, STUN reachable; no camera but the rest → audio_only."""

import math

import pytest

from core.video.policy import Measurements, assess

GOOD = dict(camera_width=640, camera_height=480, mic_rms_dbfs=-20.0, down_mbps=1.2, up_mbps=1.2,
            echo_score=0.05, stun_reachable=True, stun_rtt_ms=40.0)


def measured(**changes) -> Measurements:
    return Measurements(**{**GOOD, **changes})


def test_everything_at_the_thresholds_passes():
    result = assess(measured())
    assert result.outcome == "passed" and result.passed and result.failed_steps == []


@pytest.mark.parametrize(("changes", "step"), [
    ({"camera_width": 639}, "camera"),
    ({"camera_height": 479}, "camera"),
    ({"mic_rms_dbfs": -45.0}, "microphone"),  # strictly above −45 dBFS
    ({"mic_rms_dbfs": None}, "microphone"),
    ({"down_mbps": 1.19}, "bandwidth"),
    ({"up_mbps": 1.19}, "bandwidth"),
    ({"echo_score": 0.3}, "echo"),  # strictly below 0.3
    ({"echo_score": math.nan}, "echo"),
    ({"stun_reachable": False}, "stun"),
    ({"stun_rtt_ms": 5001.0}, "stun"),
])
def test_each_threshold(changes, step):
    assert assess(measured(**changes)).failed_steps == [step]


def test_a_portrait_camera_is_as_good_as_a_landscape_one():
    assert assess(measured(camera_width=480, camera_height=640)).outcome == "passed"


def test_a_working_microphone_without_a_camera_passes_as_audio_only():
    result = assess(measured(camera_width=None, camera_height=None))
    assert (result.outcome, result.passed) == ("audio_only", True)


def test_no_microphone_fails_even_with_a_camera():
    result = assess(measured(mic_rms_dbfs=None, echo_score=None))
    assert (result.outcome, result.passed) == ("failed", False)
    assert result.failed_steps == ["microphone", "echo"]


def test_no_camera_and_a_slow_line_fails():
    assert assess(measured(camera_width=None, camera_height=None, up_mbps=0.5)).outcome == "failed"


def test_an_unreachable_stun_server_is_a_warning_where_the_call_can_be_relayed():
    unreachable = measured(stun_reachable=False, stun_rtt_ms=None)
    assert assess(unreachable).failed_steps == ["stun"] and assess(unreachable).outcome == "failed"
    relayed = assess(unreachable, stun_required=False)
    assert relayed.outcome == "passed" and relayed.failed_steps == [] and relayed.warnings == ["stun"]
    no_camera = assess(measured(camera_width=None, camera_height=None, stun_reachable=False), stun_required=False)
    assert no_camera.outcome == "audio_only" and no_camera.warnings == ["stun"]
    assert assess(measured(mic_rms_dbfs=-60, stun_reachable=False), stun_required=False).outcome == "failed"


def test_stun_is_required_only_for_zoom_without_turn():
    from core.video.policy import stun_required

    assert stun_required(video_provider="zoom", turn_configured=False) is True
    assert stun_required(video_provider="zoom", turn_configured=True) is False
    assert stun_required(video_provider="webrtc", turn_configured=False) is False
