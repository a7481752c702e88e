"""Public API: tokens and the doctor directory (SPEC §12)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import request, session
from flask_login import current_user, login_user
from pydantic import EmailStr, Field, field_validator
from spectree import Response

from core import runtime
from core.accounts.authentication import authenticate, issue_token
from core.accounts.policy import RULES, password_strength
from core.accounts.reset_tokens import request_password_reset
from core.accounts.signup import sign_up
from core.actor import ANONYMOUS
from core.doctors.directory import list_doctors
from core.errors import ChallengeRequired, Unauthenticated
from core.scheduling.availability import doctor_availability, next_free_slots
from portals.api import ApiModel, ErrorEnvelope, api_route, raw_json, to_json
from portals.auth import SessionUser, current_actor, has_bearer_token
from portals.i18n import current_language
from portals.limits import (
    PER_ACCOUNT_FORGOT,
    PER_IP_AUTH,
    PER_IP_FORGOT,
    PER_IP_SIGNUP,
    PER_IP_STRENGTH_CHECK,
    account_key,
    challenge_solved,
    clear_failures,
    fresh_challenge,
    human_check_needed,
    limiter,
    record_failure,
    token_check_needed,
)
from portals.public import public
from portals.schemas import AvailabilityOut, WindowQuery, availability_wire
from portals.web.visitor import visitor_id


class TokenRequest(ApiModel):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=200)
    recaptcha_token: str | None = Field(default=None, max_length=4096)
    challenge_token: str | None = Field(default=None, max_length=512,
                                        description="From a 403 ERR_CHALLENGE_REQUIRED answer's details.")
    challenge_answer: str | None = Field(default=None, max_length=6)


class TokenResponse(ApiModel):
    access_token: str = Field(serialization_alias="access_token")
    token_type: str = Field(default="bearer", serialization_alias="token_type")
    expires_in: int = Field(serialization_alias="expires_in")


class DoctorOut(ApiModel):
    id: uuid.UUID
    name: str
    specialty: str
    languages: list[str]
    rating: Decimal | None
    rating_count: int
    online: bool
    timezone: str
    rpps: str


class DoctorList(ApiModel):
    doctors: list[DoctorOut]


def challenge_required() -> ChallengeRequired:
    challenge = fresh_challenge()
    return ChallengeRequired(details={"question": challenge.question, "challengeToken": challenge.token})


@api_route(public.post("/api/auth/token"), guards=[limiter.limit(PER_IP_AUTH)], json=TokenRequest,
           resp=Response(HTTP_200=TokenResponse, HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope, HTTP_422=ErrorEnvelope,
                         HTTP_429=ErrorEnvelope), tags=["auth"])
def create_token():
    """Exchange email and password for a short-lived bearer token (JWT, HS256). After failed
    attempts on the account or from the address, the same human check as /login: 403
    ERR_CHALLENGE_REQUIRED with `details.question` and `details.challengeToken`; send them back
    as `challengeToken` and `challengeAnswer` with the credentials."""
    body: TokenRequest = request.context.json
    email = str(body.email)
    if not challenge_solved(body.challenge_token, body.challenge_answer) and \
            token_check_needed(email, body.recaptcha_token):
        raise challenge_required()
    try:
        user = authenticate(email, body.password)
    except Unauthenticated:
        record_failure(email)
        raise
    clear_failures(email)
    settings = runtime.current().settings
    token = issue_token(user, secret=settings.secret_key, ttl_seconds=settings.jwt_ttl_seconds)
    return to_json(TokenResponse(access_token=token, expires_in=settings.jwt_ttl_seconds))


@api_route(public.get("/api/doctors"), resp=Response(HTTP_200=DoctorList), tags=["doctors"])
def doctors():
    """All doctors: id, name, specialty, languages, rating, online."""
    rows = list_doctors(ANONYMOUS)
    return to_json(DoctorList(doctors=[
        DoctorOut(id=d.id, name=d.name, specialty=d.specialty, languages=d.languages,
                  rating=d.rating, rating_count=d.rating_count, online=d.online,
                  timezone=d.timezone, rpps=d.rpps)
        for d in rows
    ]))


class AvailabilityList(ApiModel):
    doctor_id: uuid.UUID
    doctor_timezone: str = Field(description="IANA zone of the doctor; times below are in UTC.")
    slots: list[AvailabilityOut]


class NextSlotsQuery(WindowQuery):
    ids: str = Field(description="Comma-separated doctor ids (at most 50).", max_length=50 * 37)
    count: int = Field(default=2, ge=1, le=20)

    @field_validator("ids")
    @classmethod
    def _uuids(cls, value: str) -> str:
        for part in value.split(","):
            uuid.UUID(part.strip())
        return value

    def doctor_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(p.strip()) for p in self.ids.split(",") if p.strip()]


class NextSlots(ApiModel):
    doctors: dict[str, list[AvailabilityOut]]


@api_route(public.get("/api/doctors/<uuid:doctor_id>/unified-availability"), query=WindowQuery,
           resp=Response(HTTP_200=AvailabilityList, HTTP_404=ErrorEnvelope, HTTP_422=ErrorEnvelope),
           tags=["availability"])
def unified_availability(doctor_id: uuid.UUID):
    """Bookable starts (and booked times) of one doctor, default the next 7 days, at most 62 days.
    Times are ISO 8601 in UTC; each viewer's page shows them in the viewer's own zone."""
    query: WindowQuery = request.context.query
    found = doctor_availability(current_actor(), doctor_id, query.from_, query.to)
    return raw_json({"doctorId": str(doctor_id), "doctorTimezone": found.timezone,
                     "slots": availability_wire(found.slots)})


@api_route(public.get("/api/doctors/next-slots"), query=NextSlotsQuery,
           resp=Response(HTTP_200=NextSlots, HTTP_422=ErrorEnvelope), tags=["availability"])
def doctors_next_slots():
    """The next `count` bookable starts of many doctors in one call (the home grid)."""
    query: NextSlotsQuery = request.context.query
    found = next_free_slots(current_actor(), query.doctor_ids(), count=query.count,
                            start=query.from_, end=query.to)
    return raw_json({"doctors": {str(doctor_id): availability_wire(entries) for doctor_id, entries in found.items()}})


class SignupRequest(ApiModel):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=200)
    full_name: str = Field(default="", max_length=200)
    accept_terms: bool = Field(default=False, description="Must be true: the terms of use and the privacy notice "
                               "are accepted, at their current versions (SPEC §21). Otherwise 422 ERR_VALIDATION.")
    recaptcha_token: str | None = Field(default=None, max_length=4096)
    challenge_token: str | None = Field(default=None, max_length=512)
    challenge_answer: str | None = Field(default=None, max_length=6)


class SignupResponse(ApiModel):
    id: uuid.UUID
    email: str
    role: str


class ForgotRequest(ApiModel):
    email: str = Field(max_length=254)


class Accepted(ApiModel):
    status: str = "accepted"
    message: str


@api_route(public.post("/api/auth/signup"), guards=[limiter.limit(PER_IP_SIGNUP)], json=SignupRequest,
           resp=Response(HTTP_201=SignupResponse, HTTP_403=ErrorEnvelope, HTTP_409=ErrorEnvelope,
                         HTTP_422=ErrorEnvelope, HTTP_429=ErrorEnvelope), tags=["auth"])
def api_signup():
    """Create a patient account (password policy; ERR_DUP_EMAIL whatever the email's case) and sign in.
    When a human check is needed the answer is 403 ERR_CHALLENGE_REQUIRED with a question to answer."""
    body: SignupRequest = request.context.json
    if not challenge_solved(body.challenge_token, body.challenge_answer) and \
            human_check_needed(body.email, body.recaptcha_token, "signup"):
        raise challenge_required()
    user = sign_up(body.email, body.password, body.full_name, visitor_id=visitor_id(), accept_terms=body.accept_terms,
                   language=current_language())
    if not has_bearer_token():
        session.clear()
        login_user(SessionUser(user))
    return to_json(SignupResponse(id=user.id, email=user.email, role=user.role), 201)


@api_route(public.post("/api/auth/forgot"),
           guards=[limiter.limit(PER_IP_FORGOT), limiter.limit(PER_ACCOUNT_FORGOT, key_func=account_key)],
           json=ForgotRequest, resp=Response(HTTP_202=Accepted, HTTP_422=ErrorEnvelope, HTTP_429=ErrorEnvelope),
           tags=["auth"])
def api_forgot():
    """Email a single-use reset link valid 60 minutes. The same answer whether or not the email exists."""
    body: ForgotRequest = request.context.json
    request_password_reset(body.email, base_url=runtime.current().settings.public_base_url)
    return to_json(Accepted(message="If an account exists for this email, a reset link is on its way."), 202)


class StrengthRequest(ApiModel):
    password: str = Field(max_length=200)
    hints: list[str] = Field(default_factory=list, max_length=4,
                             description="What the person typed in the form's other fields (name, email): "
                                         "a password made of them is guessable.")

    @field_validator("hints")
    @classmethod
    def _short_hints(cls, value: list[str]) -> list[str]:
        return [h[:254] for h in value]


class StrengthOut(ApiModel):
    verdict: str = Field(description="empty, too_weak, weak, fair, too_common (every rule met, still refused), "
                                     "good or strong.")
    meter: int = Field(description="0–6: the strength meter's value.")
    rules: dict[str, bool] = Field(description=f"Each rule of the policy met or not: {', '.join(RULES)}.")
    guessable: bool = Field(description="zxcvbn finds it easy to guess: sign-up and resets refuse it.")


@api_route(public.post("/api/auth/password-strength"), guards=[limiter.limit(PER_IP_STRENGTH_CHECK)],
           json=StrengthRequest, resp=Response(HTTP_200=StrengthOut, HTTP_422=ErrorEnvelope, HTTP_429=ErrorEnvelope),
           tags=["auth"])
def api_password_strength():
    """The password meter's reading, by the very rules and estimator (zxcvbn) that sign-up, resets
    and password changes apply — so the meter never calls "strong" what the server then refuses.
    Nothing is stored or logged. Same-origin pages only (CSRF token); 60 a minute per address."""
    body: StrengthRequest = request.context.json
    hints = tuple(body.hints)
    if current_user.is_authenticated:
        email = current_user.user.email or ""
        hints += (email, email.split("@")[0], current_user.display_name or "")
    hints += tuple(h.split("@")[0] for h in hints if "@" in h)  # as sign-up does with the email
    strength = password_strength(body.password, user_inputs=hints)
    return to_json(StrengthOut(verdict=strength.verdict, meter=strength.meter, rules=strength.rules,
                               guessable=strength.guessable))
