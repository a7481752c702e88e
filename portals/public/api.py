"""Public API: tokens and the doctor directory (SPEC §12)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import request
from pydantic import EmailStr, Field
from spectree import Response

from core.accounts.authentication import authenticate, issue_token
from core.actor import ANONYMOUS
from core.doctors.directory import list_doctors
from portals.api import ApiModel, ErrorEnvelope, api_spec, to_json
from portals.public import public
from portals.state import state


class TokenRequest(ApiModel):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=200)


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


@public.post("/api/auth/token")
@api_spec.validate(json=TokenRequest, resp=Response(HTTP_200=TokenResponse, HTTP_401=ErrorEnvelope,
                                                    HTTP_422=ErrorEnvelope), tags=["auth"])
def create_token():
    """Exchange email and password for a short-lived bearer token (JWT, HS256)."""
    body: TokenRequest = request.context.json
    user = authenticate(str(body.email), body.password)
    settings = state().settings
    token = issue_token(user, secret=settings.secret_key, ttl_seconds=settings.jwt_ttl_seconds)
    return to_json(TokenResponse(access_token=token, expires_in=settings.jwt_ttl_seconds))


@public.get("/api/doctors")
@api_spec.validate(resp=Response(HTTP_200=DoctorList), tags=["doctors"])
def doctors():
    """All doctors: id, name, specialty, languages, rating, online."""
    rows = list_doctors(ANONYMOUS)
    return to_json(DoctorList(doctors=[
        DoctorOut(id=d.id, name=d.name, specialty=d.specialty, languages=d.languages,
                  rating=d.rating, rating_count=d.rating_count, online=d.online,
                  timezone=d.timezone, rpps=d.rpps)
        for d in rows
    ]))
