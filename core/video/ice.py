"""ICE servers for the consultation room (SPEC §16): STUN from `STUN_URLS`, TURN from `TURN_URLS`
with time-limited credentials issued per join by coturn's REST scheme (`use-auth-secret`):
username `<expiry epoch>:<user id>`, password base64(HMAC-SHA1(TURN_SECRET, username)), valid 2 h.
coturn recomputes the password from the shared secret, so nothing is stored and a leaked
credential dies with its expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

TURN_CREDENTIAL_LIFETIME = timedelta(hours=2)


def turn_credentials(secret: str, user_id: uuid.UUID, now: datetime,
                     lifetime: timedelta = TURN_CREDENTIAL_LIFETIME) -> tuple[str, str]:
    """(username, password) valid until now + lifetime, for coturn's use-auth-secret."""
    expiry = int((now + lifetime).timestamp())
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


ZOOM_STUN_FALLBACK = "stun:stun.l.google.com:19302"  # the Zoom-era default, kept for VIDEO_PROVIDER=zoom


def device_test_stun_url(*, stun_url: str | None, stun_urls: tuple[str, ...], turn_urls: tuple[str, ...],
                         video_provider: str) -> str:
    """The STUN server the device test asks (SPEC §10, §16): `STUN_URL` if set, else our own —
    the first of `STUN_URLS`, or the host of the first TURN URL (coturn answers STUN too). With
    webrtc and none of them, nothing: the test asks no third party, and the step is only a note."""
    if stun_url:
        return stun_url
    if stun_urls:
        return stun_urls[0]
    if turn_urls:
        host = turn_urls[0].split(":", 1)[1].split("?", 1)[0]
        return f"stun:{host}"
    return ZOOM_STUN_FALLBACK if video_provider == "zoom" else ""


def ice_servers(*, stun_urls: tuple[str, ...], turn_urls: tuple[str, ...], turn_secret: str | None,
                user_id: uuid.UUID, now: datetime) -> list[dict]:
    """The `iceServers` of an RTCPeerConnection, as the browser takes them. Empty when neither is
    set: two browsers that reach each other directly (one network, the tests) still connect."""
    servers: list[dict] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls and turn_secret:
        username, credential = turn_credentials(turn_secret, user_id, now)
        servers.append({"urls": list(turn_urls), "username": username, "credential": credential})
    return servers
