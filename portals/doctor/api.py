"""Doctor API: own profile, Online/Offline, availability CRUD, batch and conflicts (SPEC §3, §12)."""

from __future__ import annotations

import uuid
from datetime import datetime, time

from flask import Blueprint, request
from flask_login import current_user
from pydantic import Field
from spectree import Response

from core.clock import now
from core.errors import SlotConflict
from core.i18n import N_
from core.scheduling import doctor_slots
from core.scheduling.availability import resolve_window
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.hygiene import BoundedDate, BoundedDateTime
from portals.schemas import WindowQuery

doctor_api = Blueprint("doctor_api", __name__)
ERRORS = {"HTTP_401": ErrorEnvelope, "HTTP_403": ErrorEnvelope, "HTTP_422": ErrorEnvelope}


class DoctorMe(ApiModel):
    id: uuid.UUID
    name: str
    specialty: str
    timezone: str
    online: bool
    languages: list[str]
    rpps: str


class StatusIn(ApiModel):
    online: bool


class SlotIn(ApiModel):
    start: BoundedDateTime
    end: BoundedDateTime | None = None
    is_available: bool = True


class SlotOut(ApiModel):
    id: uuid.UUID
    start: datetime
    end: datetime
    is_available: bool
    is_held: bool
    is_booked: bool


class SlotList(ApiModel):
    slots: list[SlotOut]


class BatchIn(ApiModel):
    first_day: BoundedDate
    last_day: BoundedDate
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1, max_length=7,
                                description="0 = Monday … 6 = Sunday")
    start_time: time = Field(examples=["08:00"])
    end_time: time = Field(examples=["12:00"])
    is_available: bool = True


class BatchOut(ApiModel):
    created: int
    updated: int
    skipped: list[datetime]


class ConflictOut(ApiModel):
    kind: str
    start: datetime
    end: datetime
    slot_id: uuid.UUID | None = None


class ConflictList(ApiModel):
    conflicts: list[ConflictOut]


def _me(profile: doctor_slots.DoctorProfile) -> DoctorMe:
    return DoctorMe(id=profile.id, name=profile.name, specialty=profile.specialty,
                    timezone=profile.timezone, online=profile.online, languages=profile.languages,
                    rpps=f"10003{profile.number}789")


def _slot(view: doctor_slots.SlotView) -> SlotOut:
    return SlotOut.model_validate(view)


@api_route(doctor_api.get("/api/doctor/me"), role="doctor", resp=Response(HTTP_200=DoctorMe, **ERRORS), tags=["doctor"])
def me():
    """The signed-in doctor's own profile."""
    return to_json(_me(doctor_slots.doctor_profile(current_user.actor)))


@api_route(doctor_api.patch("/api/doctor/status"), role="doctor", json=StatusIn,
           resp=Response(HTTP_200=DoctorMe, **ERRORS), tags=["doctor"])
def status():
    """Online/Offline: offline hides every slot from patients at once."""
    body: StatusIn = request.context.json
    return to_json(_me(doctor_slots.set_online(current_user.actor, body.online)))


@api_route(doctor_api.get("/api/doctor/time-slots"), role="doctor", query=WindowQuery,
           resp=Response(HTTP_200=SlotList, **ERRORS), tags=["doctor"])
def list_slots():
    """The doctor's explicit slots in a window (default the next 7 days)."""
    query: WindowQuery = request.context.query
    start, end = resolve_window(query.from_, query.to, now())
    views = doctor_slots.list_slots(current_user.actor, start, end)
    return to_json(SlotList(slots=[_slot(v) for v in views]))


@api_route(doctor_api.post("/api/doctor/time-slots"), role="doctor", json=SlotIn,
           resp=Response(HTTP_201=SlotOut, HTTP_409=ErrorEnvelope, **ERRORS), tags=["doctor"])
def create_slot():
    """Turn a slot on (or off with isAvailable=false); 409 ERR_SLOT_CONFLICT on overlap."""
    body: SlotIn = request.context.json
    view = doctor_slots.set_slot(current_user.actor, body.start, body.end, is_available=body.is_available)
    return to_json(_slot(view), 201)


@api_route(doctor_api.post("/api/doctor/time-slots/batch"), role="doctor", json=BatchIn,
           resp=Response(HTTP_200=BatchOut, **ERRORS), tags=["doctor"])
def batch_slots():
    """E.g. weekdays 08:00–12:00 for 4 weeks, in 30-minute slots in the doctor's time zone."""
    body: BatchIn = request.context.json
    result = doctor_slots.batch_set_slots(
        current_user.actor, first_day=body.first_day, last_day=body.last_day, weekdays=set(body.weekdays),
        start_time=body.start_time, end_time=body.end_time, is_available=body.is_available)
    return to_json(BatchOut(created=result.created, updated=result.updated, skipped=result.skipped))


@api_route(doctor_api.delete("/api/doctor/time-slots/<uuid:slot_id>"), role="doctor",
           resp=Response(HTTP_200=SlotOut, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope, **ERRORS), tags=["doctor"])
def delete_slot(slot_id: uuid.UUID):
    """Turn a slot off. It stays off: the default template never re-fills it."""
    return to_json(_slot(doctor_slots.turn_off_slot(current_user.actor, slot_id)))


@api_route(doctor_api.post("/api/doctor/time-slots/check-conflicts"), role="doctor", json=SlotIn,
           resp=Response(HTTP_200=ConflictList, HTTP_409=ErrorEnvelope, **ERRORS), tags=["doctor"])
def check_conflicts():
    """200 with no conflicts, or 409 ERR_SLOT_CONFLICT listing what [start, end) overlaps."""
    body: SlotIn = request.context.json
    conflicts = doctor_slots.check_conflicts(current_user.actor, body.start, body.end)
    if conflicts:
        listed = [ConflictOut.model_validate(c)
                  .model_dump(mode="json", by_alias=True) for c in conflicts]
        raise SlotConflict(N_("This time overlaps your calendar."), details={"conflicts": listed})
    return to_json(ConflictList(conflicts=[]))
