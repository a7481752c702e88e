"""Zoom Video SDK session signatures (SPEC §10): a JWT signed with HS256, built server-side.

Claims, as Zoom's Video SDK authorisation documents them: `app_key` (the SDK key), `tpc` (the
session name: `doktu-<appointment id>`, so a signature opens that consultation's session and no
other), `role_type` (1 = host for the doctor, 0 = attendee for the patient), `version` 1, `iat`,
`exp` and `user_identity` (our user id, 32 hex characters: Zoom takes fewer than 35).

Expiry: Zoom accepts `exp` from 30 minutes to 48 hours after `iat`; we sign for the shortest, 30
minutes (the join window itself lasts 35). `iat` is set 30 s in the past so that a client whose
clock runs a little behind does not see a token "from the future".

Without `ZOOM_SDK_KEY`/`ZOOM_SDK_SECRET` (development, tests) the same claims are signed with a
development key derived from `SECRET_KEY` and the app key `doktu-development`: the join rule, the
claims and the expiry are exercised end to end, but Zoom would refuse such a token, and the join
page says plainly that no call takes place.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(minutes=30)  # Zoom's minimum
CLOCK_SKEW = timedelta(seconds=30)
DEV_APP_KEY = "doktu-development"
HOST, ATTENDEE = 1, 0
ROLE_TYPES = {"doctor": HOST, "patient": ATTENDEE}


def session_name(appointment_id: uuid.UUID) -> str:
    """The Video SDK session (`tpc`) of one consultation."""
    return f"doktu-{appointment_id}"


def development_secret(secret_key: str) -> str:
    """The key that signs development tokens: derived from SECRET_KEY, never the key itself."""
    return hmac.new(secret_key.encode(), b"doktu zoom development signatures", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SessionSigner:
    app_key: str
    secret: str = ""
    configured: bool = False  # real Zoom keys, rather than the development key

    @classmethod
    def from_settings(cls, *, sdk_key: str | None, sdk_secret: str | None, secret_key: str) -> SessionSigner:
        if sdk_key and sdk_secret:
            return cls(sdk_key, sdk_secret, configured=True)
        return cls(DEV_APP_KEY, development_secret(secret_key), configured=False)

    @property
    def provider(self) -> str:
        return "zoom" if self.configured else "development"

    def sign(self, *, appointment_id: uuid.UUID, participant_role: str, user_id: uuid.UUID,
             now: datetime) -> SignedSession:
        """The Video SDK JWT for one participant of one consultation."""
        if participant_role not in ROLE_TYPES:
            raise ValueError(f"only the doctor and the patient join a consultation, not {participant_role!r}")
        issued = now - CLOCK_SKEW
        expires = issued + TOKEN_LIFETIME
        claims = {
            "app_key": self.app_key,
            "tpc": session_name(appointment_id),
            "role_type": ROLE_TYPES[participant_role],
            "version": 1,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "user_identity": user_id.hex,
        }
        token = jwt.encode(claims, self.secret, algorithm=ALGORITHM, headers={"typ": "JWT"})
        return SignedSession(token=token, claims=claims, issued_at=issued.replace(microsecond=0),
                             expires_at=expires.replace(microsecond=0))


@dataclass(frozen=True)
class SignedSession:
    token: str
    claims: dict
    issued_at: datetime
    expires_at: datetime

    @property
    def session_name(self) -> str:
        return self.claims["tpc"]

    @property
    def role_type(self) -> int:
        return self.claims["role_type"]
