"""Presence in the consultation room (SPEC §16) and the coturn REST credentials, as pure rules."""

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

from core.video import ice, presence
from core.video.policy import LastTest
from core.video.room import phase_of

T = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def ev(kind: str, minutes: int) -> presence.Event:
    return presence.Event("patient", kind, T + timedelta(minutes=minutes))


def test_waiting_since_the_first_event_of_the_current_stretch():
    assert presence.summarise([]) == presence.Presence("away", None, False, False)
    s = presence.summarise([ev("waiting", 0), ev("waiting", 2)])
    assert (s.state, s.since, s.ever_joined, s.ever_came) == ("waiting", T, False, True)
    s = presence.summarise([ev("waiting", 0), ev("joined", 4)])
    assert (s.state, s.since, s.ever_joined) == ("in_room", T, True)


def test_leaving_ends_a_stretch_and_coming_back_starts_another():
    s = presence.summarise([ev("waiting", 0), ev("joined", 4), ev("left", 9)])
    assert (s.state, s.since, s.ever_joined, s.ever_came) == ("away", None, True, True)
    s = presence.summarise([ev("joined", 4), ev("left", 9), ev("reconnected", 11)])
    assert (s.state, s.since) == ("in_room", T + timedelta(minutes=11))


def test_readiness_words_for_the_doctor():
    assert presence.readiness(None, T) == "not_tested"
    assert presence.readiness(LastTest(T - timedelta(hours=23, minutes=59), "passed"), T) == "ready"
    assert presence.readiness(LastTest(T - timedelta(hours=24, minutes=1), "passed"), T) == "not_tested"
    assert presence.readiness(LastTest(T, "audio_only"), T) == "audio_only"
    assert presence.readiness(LastTest(T, "failed"), T) == "failed"


def test_the_page_phase_follows_the_join_window_edges():
    start = T
    assert phase_of("confirmed", start - timedelta(minutes=5, seconds=1), start) == "waiting"
    assert phase_of("confirmed", start - timedelta(minutes=5), start) == "open"
    assert phase_of("confirmed", start + timedelta(minutes=30), start) == "open"
    assert phase_of("confirmed", start + timedelta(minutes=30, seconds=1), start) == "closed"
    assert phase_of("cancelled", start, start) == phase_of("no_show", start, start) == "over"


def test_turn_credentials_follow_coturns_rest_scheme():
    user = uuid.UUID("00000000-0000-0000-0000-000000000042")
    username, password = ice.turn_credentials("secret", user, T)
    assert username == f"{int((T + timedelta(hours=2)).timestamp())}:{user}"
    assert password == base64.b64encode(hmac.new(b"secret", username.encode(), hashlib.sha1).digest()).decode()
    assert ice.ice_servers(stun_urls=(), turn_urls=(), turn_secret=None, user_id=user, now=T) == []
    servers = ice.ice_servers(stun_urls=("stun:a:3478",), turn_urls=("turn:a:3478",), turn_secret="secret",
                              user_id=user, now=T)
    assert servers == [{"urls": ["stun:a:3478"]},
                       {"urls": ["turn:a:3478"], "username": username, "credential": password}]


def test_the_device_test_asks_our_own_stun_server_and_no_third_party_by_default():
    def url(**kw):
        base = dict(stun_url=None, stun_urls=(), turn_urls=(), video_provider="webrtc")
        return ice.device_test_stun_url(**{**base, **kw})

    assert url() == ""
    assert url(turn_urls=("turn:turn.doktu.eu:3478?transport=udp",)) == "stun:turn.doktu.eu:3478"
    assert url(stun_urls=("stun:a:3478",), turn_urls=("turn:b:3478",)) == "stun:a:3478"
    assert url(stun_url="stun:own:19302", stun_urls=("stun:a:3478",)) == "stun:own:19302"
    assert url(video_provider="zoom") == "stun:stun.l.google.com:19302"
