"""Abuse protection (SPEC §6): rate limits on Redis, and "suspicious activity" that switches the
self-hosted challenge on when reCAPTCHA is not configured."""

from __future__ import annotations

import contextlib
import hashlib

import redis
from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.accounts.challenge import Challenge, check_challenge, new_challenge
from core.accounts.recaptcha import recaptcha_passes
from portals.state import state

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="fixed-window")

PER_IP_AUTH = "20 per minute"
PER_ACCOUNT_AUTH = "5 per minute"
PER_IP_SIGNUP = "10 per hour"
PER_IP_FORGOT = "10 per hour"
PER_ACCOUNT_FORGOT = "3 per hour"
SUSPICIOUS_AFTER = 3  # failed sign-ins from one address or on one account within FAILURE_WINDOW
FAILURE_WINDOW = 15 * 60


def init_limits(app: Flask) -> None:
    settings = state(app).settings
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = "doktu-limits"
    limiter.init_app(app)
    limiter.enabled = settings.rate_limits  # after init_app, so the storage exists either way


def _hashed(value: str) -> str:
    """Keys never hold an email in clear (Redis is not a place for personal data)."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


def account_key() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    email = data.get("email") if isinstance(data, dict) else ""
    return "account:" + _hashed(str(email or ""))


def _client() -> redis.Redis:
    return state().redis


def record_failure(email: str) -> None:
    try:
        pipe = _client().pipeline()
        for key in (f"login-failures:ip:{get_remote_address()}", f"login-failures:acct:{_hashed(email)}"):
            pipe.incr(key)
            pipe.expire(key, FAILURE_WINDOW)
        pipe.execute()
    except redis.RedisError:
        pass  # counting is protection, not a reason to refuse a sign-in


def clear_failures(email: str) -> None:
    with contextlib.suppress(redis.RedisError):
        _client().delete(f"login-failures:acct:{_hashed(email)}")


def looks_suspicious(email: str) -> bool:
    try:
        values = _client().mget(f"login-failures:ip:{get_remote_address()}",
                                f"login-failures:acct:{_hashed(email)}")
    except redis.RedisError:
        return True  # cannot tell: ask the person to prove it
    return any(int(v or 0) >= SUSPICIOUS_AFTER for v in values)


def recaptcha_site_key() -> str | None:
    settings = state().settings
    return settings.recaptcha_site_key if settings.recaptcha_secret_key else None


def human_check_needed(email: str, recaptcha_token: str | None, action: str) -> bool:
    """With reCAPTCHA keys: unless Google scores the request ≥ 0.7. Without: after suspicious
    activity on this address or account."""
    settings = state().settings
    if settings.recaptcha_secret_key:
        return not recaptcha_passes(settings.recaptcha_secret_key, recaptcha_token, action=action,
                                    remote_ip=get_remote_address())
    return looks_suspicious(email)


def challenge_solved(token: str | None, answer: str | None) -> bool:
    if not token or not answer:
        return False
    nonce = check_challenge(state().settings.secret_key, token, answer)
    if nonce is None:
        return False
    try:  # each challenge counts once
        return bool(_client().set(f"challenge-used:{nonce}", 1, nx=True, ex=900))
    except redis.RedisError:
        return True


def fresh_challenge() -> Challenge:
    return new_challenge(state().settings.secret_key)
