"""The room's settings (SPEC §16): VIDEO_PROVIDER, STUN_URLS, TURN_URLS + TURN_SECRET, and the
compose stack's coturn service."""

from pathlib import Path

import pytest
import yaml

from core.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[3]
BASE = {"DOKTU_ENV": "test", "SECRET_KEY": "k" * 40, "DOKTU_INSTANCE_PATH": "/tmp/doktu-test-room-settings"}


def test_webrtc_is_the_default_with_no_ice_servers():
    s = Settings.from_env(BASE)
    assert (s.video_provider, s.stun_urls, s.turn_urls, s.turn_secret) == ("webrtc", (), (), None)


def test_lists_are_comma_separated_and_checked():
    s = Settings.from_env({**BASE, "VIDEO_PROVIDER": "Zoom", "STUN_URLS": "stun:a:3478, stun:b:3478",
                           "TURN_URLS": "turn:a:3478?transport=udp,turns:a:5349?transport=tcp", "TURN_SECRET": "x"})
    assert s.video_provider == "zoom" and s.stun_urls == ("stun:a:3478", "stun:b:3478")
    assert s.turn_urls == ("turn:a:3478?transport=udp", "turns:a:5349?transport=tcp")
    with pytest.raises(ConfigError, match="VIDEO_PROVIDER"):
        Settings.from_env({**BASE, "VIDEO_PROVIDER": "jitsi"})
    with pytest.raises(ConfigError, match="STUN_URLS"):
        Settings.from_env({**BASE, "STUN_URLS": "turn:a:3478"})
    with pytest.raises(ConfigError, match="TURN_SECRET"):
        Settings.from_env({**BASE, "TURN_URLS": "turn:a:3478"})


def test_compose_runs_coturn_and_points_the_app_at_it():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    coturn = compose["services"]["coturn"]
    assert "--use-auth-secret" in coturn["command"] and "127.0.0.1:3478:3478/udp" in coturn["ports"]
    assert not any("allow-loopback-peers" in arg for arg in coturn["command"])  # tests only
    app_env = compose["services"]["app"]["environment"]
    assert app_env["TURN_URLS"].startswith("turn:") and app_env["STUN_URLS"].startswith("stun:")
    env_example = (ROOT / ".env.example").read_text()
    assert "TURN_SECRET=" in env_example and "VIDEO_PROVIDER=webrtc" in env_example
