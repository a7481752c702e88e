"""Sign-in by email and password, session look-ups and short-lived API tokens (SPEC §6, §12)."""

from __future__ import annotations

import contextlib
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update

from core import clock, db
from core.accounts.passwords import burn_time, verify_password
from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.errors import TOKEN_REFUSED, Unauthenticated
from core.i18n import N_
from core.models import User

TOKEN_ALGORITHM = "HS256"  # noqa: S105 - an algorithm name
TOKEN_AUDIENCE = "doktu-api"  # noqa: S105 - an audience name


@dataclass(frozen=True)
class AuthenticatedUser:
    id: uuid.UUID
    email: str
    role: str
    full_name: str
    session_version: int
    timezone: str | None = None  # the zone the user chose for showing times; None follows the device
    locale: str | None = None  # the language the user chose (SPEC §20): pages, emails, SMS, PDFs
    device_zone: str | None = None  # the zone the browser last reported, for emails and SMS (SPEC §20)

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role)

    @classmethod
    def from_row(cls, user: User) -> AuthenticatedUser:
        return cls(user.id, user.email, user.role, user.full_name, user.session_version, user.timezone, user.locale,
                   user.device_zone)


def canonical_email(raw: str) -> str:
    """The one form of an address that accounts are stored, looked up and throttled by (SPEC §6):
    NFKC first, so fullwidth and other compatibility letters fold to plain ones
    (`ｐａｔｉｅｎｔ@ｅｘａｍｐｌｅ.org` is `patient@example.org`); the domain IDNA-normalised by
    email-validator; then lower case, which is what the unique index on lower(email) compares
    (casefold would turn a stored `ß` into `ss` and lose that account). A string that is not an
    address is folded the same way, so the look-up and the limit keys still agree."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    with contextlib.suppress(EmailNotValidError):  # not an address: folded all the same
        text = validate_email(text, check_deliverability=False).normalized
    return text.lower()



def authenticate(email: str, password: str) -> AuthenticatedUser:
    """Check the credentials; one answer for an unknown email and a wrong password (no enumeration)."""
    with unit_of_work(SYSTEM) as uow:
        user = uow.session.scalar(
            select(User).where(func.lower(User.email) == canonical_email(email))
        )
        if user is None or not user.is_active:
            burn_time(password)
            raise Unauthenticated(N_("Email or password is incorrect."))
        if not verify_password(password, user.password_hash):
            raise Unauthenticated(N_("Email or password is incorrect."))
        uow.session.execute(update(User).where(User.id == user.id).values(last_login_at=clock.now()))
        return AuthenticatedUser.from_row(user)


def sign_out_everywhere(actor: Actor) -> None:
    """Sign-out (SPEC §6): bump `session_version`, so the signed-out session cookie is refused
    server-side even if someone replays it before it expires (12 h). Flask's sessions are signed
    cookies, so the version is the server-side state that ends them: signing out therefore ends
    every session and API token of the user (the same effect as a password change)."""
    if actor.user_id is None:
        return
    with unit_of_work(actor) as uow:
        uow.session.execute(update(User).where(User.id == actor.user_id)
                            .values(session_version=User.session_version + 1))


_SESSION_USER = ("SELECT id, email, role, full_name, session_version, timezone, locale, device_zone "
                 "FROM app_session_user(%(id)s, %(version)s)")


def load_user(user_id: uuid.UUID, session_version: int) -> AuthenticatedUser | None:
    """The user behind a session or token, unless switched off or signed out everywhere since.
    Runs on every authenticated request: one statement, autocommit, no transaction around it."""
    rows = db.read_once(_SESSION_USER, {"id": user_id, "version": session_version})
    if not rows:
        return None
    row = rows[0]
    return AuthenticatedUser(row.id, row.email, row.role, row.full_name, row.session_version, row.timezone,
                             row.locale, row.device_zone)


def issue_token(user: AuthenticatedUser, *, secret: str, ttl_seconds: int) -> str:
    now = clock.now()
    claims = {
        "sub": str(user.id), "role": user.role, "ver": user.session_version,
        "aud": TOKEN_AUDIENCE, "iat": now, "nbf": now, "exp": now + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


# Tokens whose signature, audience and claims were verified, by (secret, token): a client sends
# the same token on every call, and verifying it again cost more than the rest of its check
# (issue 21). Time is checked on every use; the session is confirmed in the database on every use
# (revocation is at once): by `load_user`, or by the hold's own first round trip (`token_actor`).
_VERIFIED: dict[tuple[str, str], tuple[uuid.UUID, int, str, float, float]] = {}
_VERIFIED_MAX = 4096


def _verified_claims(token: str, secret: str) -> tuple[uuid.UUID, int, str]:
    """(user id, session version, role) of a token whose signature holds and that is valid now."""
    key = (secret, token)
    known = _VERIFIED.get(key)
    if known is None:
        claims = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM], audience=TOKEN_AUDIENCE,
                            options={"require": ["sub", "exp", "role", "ver"]})
        known = (uuid.UUID(claims["sub"]), int(claims["ver"]), str(claims["role"]), float(claims["exp"]),
                 float(claims.get("nbf", 0)))
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[key] = known
    moment = time.time()  # PyJWT's clock for `exp` and `nbf`
    if not known[4] <= moment < known[3]:
        raise jwt.ExpiredSignatureError("expired")
    return known[0], known[1], known[2]


def token_claims(token: str, *, secret: str) -> tuple[uuid.UUID, int, str]:
    """(user id, session version, role) of a bearer token whose signature, audience and times
    hold, or Unauthenticated. Whether its session is still on is the database's to say:
    `user_from_token`, or the unit of work of an `Actor` with `unconfirmed_session`."""
    try:
        return _verified_claims(token, secret)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Unauthenticated(TOKEN_REFUSED) from exc


def token_actor(token: str, *, secret: str) -> Actor:
    """The actor a verified token speaks for, its session to be confirmed by the unit of work
    that acts for it (in that unit's first round trip: one read less than `user_from_token`)."""
    user_id, version, role = token_claims(token, secret=secret)
    return Actor(user_id, role, unconfirmed_session=version)


def user_from_token(token: str, *, secret: str) -> AuthenticatedUser:
    """Verify a bearer token and return its still-valid user, or raise Unauthenticated."""
    user_id, version, role = token_claims(token, secret=secret)
    user = load_user(user_id, version)
    if user is None or user.role != role:
        raise Unauthenticated(TOKEN_REFUSED)
    return user
