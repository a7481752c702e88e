"""The self-hosted fallback challenge (SPEC §6): when reCAPTCHA is unsure, unreachable or not
configured and activity looks suspicious, the person answers a small sum. It is text, so screen
readers read it; the answer travels signed and expires; each challenge is accepted once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_AGE_SECONDS = 600
_SALT = "doktu-challenge"


@dataclass(frozen=True)
class Challenge:
    question: str
    token: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def _digest(nonce: str, answer: int) -> str:
    return hashlib.sha256(f"{nonce}:{answer}".encode()).hexdigest()


def new_challenge(secret: str) -> Challenge:
    a, b = secrets.randbelow(9) + 2, secrets.randbelow(9) + 2
    nonce = secrets.token_hex(8)
    token = _serializer(secret).dumps({"n": nonce, "h": _digest(nonce, a + b)})
    return Challenge(f"What is {a} plus {b}?", token)


def check_challenge(secret: str, token: str, answer: str) -> str | None:
    """The challenge's nonce when the answer is right and in time (the caller makes it
    single-use by remembering the nonce), else None."""
    try:
        data = _serializer(secret).loads(token, max_age=MAX_AGE_SECONDS)
        given = int(answer.strip())
    except (BadSignature, ValueError, TypeError, AttributeError):
        return None
    if not isinstance(data, dict) or not secrets.compare_digest(data.get("h", ""), _digest(data.get("n", ""), given)):
        return None
    return data["n"]
