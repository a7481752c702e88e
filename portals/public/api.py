"""Public API: tokens and the doctor directory (SPEC §12)."""

from __future__ import annotations

import uuid
from datetime import UTC
from decimal import Decimal

from flask import request
from pydantic import EmailStr, Field, field_validator
from spectree import Response

from core.accounts.authentication import authenticate, issue_token
from core.actor import ANONYMOUS
from core.doctors.directory import list_doctors
from core.scheduling.availability import doctor_availability, next_free_slots
from portals.api import ApiModel, ErrorEnvelope, api_spec, to_json
from portals.auth import current_actor
from portals.public import public
from portals.schemas import AvailabilityOut, WindowQuery
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


@public.get("/api/doctors/<uuid:doctor_id>/unified-availability")
@api_spec.validate(query=WindowQuery, resp=Response(HTTP_200=AvailabilityList, HTTP_404=ErrorEnvelope,
                                                     HTTP_422=ErrorEnvelope), tags=["availability"])
def unified_availability(doctor_id: uuid.UUID):
    """Bookable starts (and booked times) of one doctor, default the next 7 days, at most 62 days.
    Times are ISO 8601 in UTC; each viewer's page shows them in the viewer's own zone."""
    query: WindowQuery = request.context.query
    found = doctor_availability(current_actor(), doctor_id, query.from_, query.to)
    return to_json(AvailabilityList(doctor_id=doctor_id, doctor_timezone=found.timezone,
                                    slots=[AvailabilityOut.from_entry(e, UTC) for e in found.slots]))


@public.get("/api/doctors/next-slots")
@api_spec.validate(query=NextSlotsQuery, resp=Response(HTTP_200=NextSlots, HTTP_422=ErrorEnvelope),
                   tags=["availability"])
def doctors_next_slots():
    """The next `count` bookable starts of many doctors in one call (the home grid)."""
    query: NextSlotsQuery = request.context.query
    found = next_free_slots(current_actor(), query.doctor_ids(), count=query.count,
                            start=query.from_, end=query.to)
    return to_json(NextSlots(doctors={
        str(doctor_id): [AvailabilityOut.from_entry(e, UTC) for e in entries]
        for doctor_id, entries in found.items()
    }))
