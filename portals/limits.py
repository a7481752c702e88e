"""Abuse protection (SPEC §6; issue 23 §4, §6): rate limits, failed sign-in counts and the
"suspicious activity" that asks the self-hosted challenge when reCAPTCHA is not configured.

Every counter lives in one `limits` storage: Redis, or this process's memory while Redis does not
answer (`portals.limit_storage`), so sign-in, sign-up and forgot keep working with Redis down.
Account keys are the canonical address (`canonical_email`: NFKC, IDNA domain, lower case), hashed:
fullwidth spellings of a domain count against the same account and Redis never holds an email.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits.storage import Storage

from core import runtime
from core.accounts.authentication import canonical_email
from core.accounts.challenge import Challenge, check_challenge, new_challenge
from core.accounts.recaptcha import recaptcha_passes
from portals.limit_storage import fallback_uri

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="fixed-window")

PER_IP_AUTH = "20 per minute"  # every sign-in attempt from one address
PER_ACCOUNT_AUTH = "5 per minute"  # password checks of a signed-in user (settings)
PER_IP_SIGNUP = "10 per hour"
PER_IP_FORGOT = "10 per hour"
PER_ACCOUNT_FORGOT = "3 per hour"
# The strength meter asks the server while a person types (debounced 300 ms): a long password
# typed slowly is a few dozen checks; more is someone using us as a password-strength oracle.
PER_IP_STRENGTH_CHECK = "60 per minute"
# Holding times (holds and create-pending): a patient legitimately tries a few times; more is
# hoarding slots (issue 23 §12).
PER_ACCOUNT_HOLDS = "10 per 10 minutes"
SUSPICIOUS_AFTER = 3  # failed sign-ins from one address or on one account within FAILURE_WINDOW
FAILURE_WINDOW = 15 * 60
# Failed sign-ins on one account within LOCK_WINDOW after which only a solved self-hosted challenge
# gets a password checked, whatever reCAPTCHA says. Never a lock-out: the right password with a
# solved challenge always signs in, so an attacker cannot shut the real user out.
LOCK_AFTER = 5
LOCK_WINDOW = 60
CHALLENGE_MEMORY = 900  # a solved challenge is remembered (refused again) beyond its 10-minute life


def init_limits(app: Flask) -> None:
    settings = runtime.current().settings
    if settings.redis_url:
        app.config["RATELIMIT_STORAGE_URI"] = fallback_uri(settings.redis_url)
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 1}
    else:
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = "doktu-limits"
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True  # a limiter fault must never refuse a request
    app.after_request(_no_budget_for_the_unauthenticated)  # before the limiter's: runs after it
    limiter.init_app(app)
    limiter.enabled = settings.rate_limits  # after init_app, so the storage exists either way


def _counters() -> Storage:
    return limiter.storage


def _hashed(value: str) -> str:
    """Keys never hold an email in clear (Redis is not a place for personal data)."""
    return hashlib.sha256(canonical_email(value).encode()).hexdigest()[:24]


def account_key() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    email = data.get("email") if isinstance(data, dict) else ""
    return "account:" + _hashed(str(email or ""))


def user_key() -> str:
    """Per signed-in user; the address before sign-in."""
    return f"user:{current_user.id}" if current_user.is_authenticated else f"ip:{get_remote_address()}"


# One budget for every way of holding a time (the hold API, create-pending, the /book form). A
# request refused as unauthenticated draws nothing from it: the hold route takes a bearer token on
# its claims and confirms its session only in the service (`api_route(confirms_token=True)`), so
# a signed-out token must not spend its former owner's budget.
slot_holds = limiter.shared_limit(PER_ACCOUNT_HOLDS, scope="slot-holds", key_func=user_key,
                                  exempt_when=lambda: not current_user.is_authenticated,
                                  deduct_when=lambda response: response.status_code != 401)
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


def _no_budget_for_the_unauthenticated(response):
    """A 401 says nothing about the account's budget (the limiter adds its headers after this runs
    — after_request hooks run last-registered first)."""
    if response.status_code == 401:
        for name in RATE_LIMIT_HEADERS:
            response.headers.pop(name, None)
    return response


def _failure_keys(email: str) -> dict[str, str]:
    account = _hashed(email)
    return {"ip": f"login-failures:ip:{get_remote_address()}", "account": f"login-failures:acct:{account}",
            "recent": f"login-failures:acct-minute:{account}"}


def record_failure(email: str) -> None:
    """Only failures count against an account: a right password never brings the challenge on."""
    keys = _failure_keys(email)
    store = _counters()
    store.incr(keys["ip"], FAILURE_WINDOW)
    store.incr(keys["account"], FAILURE_WINDOW)
    store.incr(keys["recent"], LOCK_WINDOW)


def clear_failures(email: str) -> None:
    keys = _failure_keys(email)
    _counters().clear(keys["account"])
    _counters().clear(keys["recent"])


def looks_suspicious(email: str) -> bool:
    keys = _failure_keys(email)
    return any(_counters().get(keys[k]) >= SUSPICIOUS_AFTER for k in ("ip", "account"))


def account_under_attack(email: str) -> bool:
    return _counters().get(_failure_keys(email)["recent"]) >= LOCK_AFTER


def recaptcha_site_key() -> str | None:
    settings = runtime.current().settings
    return settings.recaptcha_site_key if settings.recaptcha_secret_key else None


def human_check_needed(email: str, recaptcha_token: str | None, action: str) -> bool:
    """With reCAPTCHA keys: unless Google scores the request ≥ 0.7. Without: after suspicious
    activity on this address or account."""
    settings = runtime.current().settings
    if settings.recaptcha_secret_key:
        return not recaptcha_passes(settings.recaptcha_secret_key, recaptcha_token, action=action,
                                    remote_ip=get_remote_address())
    return looks_suspicious(email)


def sign_in_check_needed(email: str, recaptcha_token: str | None) -> bool:
    """Before a password is checked (/login and /api/auth/token alike): the human check, and the
    self-hosted challenge in any case once the account has LOCK_AFTER recent failures."""
    return account_under_attack(email) or human_check_needed(email, recaptcha_token, "login")


def token_check_needed(email: str, recaptcha_token: str | None) -> bool:
    """`/api/auth/token`: the human check of /login, from the failures on. API clients carry no
    reCAPTCHA token by default, so none is asked before failures even with keys; after them a
    passing reCAPTCHA token (keys set) or the self-hosted challenge answers it, and once the
    account is under attack only the challenge does."""
    if account_under_attack(email):
        return True
    if not looks_suspicious(email):
        return False
    settings = runtime.current().settings
    if settings.recaptcha_secret_key and recaptcha_token:
        return not recaptcha_passes(settings.recaptcha_secret_key, recaptcha_token, action="login",
                                    remote_ip=get_remote_address())
    return True


def challenge_solved(token: str | None, answer: str | None) -> bool:
    if not token or not answer:
        return False
    nonce = check_challenge(runtime.current().settings.secret_key, token, answer)
    if nonce is None:
        return False
    return _counters().incr(f"challenge-used:{nonce}", CHALLENGE_MEMORY) == 1  # each counts once


def fresh_challenge() -> Challenge:
    return new_challenge(runtime.current().settings.secret_key)
