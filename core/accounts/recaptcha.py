"""reCAPTCHA v3 verification (SPEC §6): a score of at least 0.7 passes; a lower score, a failed
check or Google out of reach all mean "ask the self-hosted challenge", never "let in"."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)
VERIFY_URL = "https://www.google.com/recaptcha/api/siteverify"
PASS_SCORE = 0.7


def recaptcha_passes(secret: str, token: str | None, *, action: str, remote_ip: str | None = None,
                     transport: httpx.BaseTransport | None = None) -> bool:
    if not token:
        return False
    try:
        with httpx.Client(timeout=httpx.Timeout(3.0, connect=2.0), transport=transport) as client:
            answer = client.post(VERIFY_URL, data={"secret": secret, "response": token,
                                                   **({"remoteip": remote_ip} if remote_ip else {})}).json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("recaptcha unreachable", extra={"error": type(exc).__name__})
        return False
    return (answer.get("success") is True and float(answer.get("score", 0)) >= PASS_SCORE
            and answer.get("action", action) == action)
