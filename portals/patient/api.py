"""Patient API: slot holds, pending appointments and the health profile (SPEC §3, §6, §12)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask import request, url_for
from flask_login import current_user
from pydantic import Field, model_validator
from spectree import Response

from core.accounts.profile import get_profile, save_profile
from core.booking.pending import create_pending
from core.errors import ProfileIncomplete
from core.payments.checkout import start_payment
from core.scheduling.holds import hold_slot, release_hold
from portals.api import ApiModel, ErrorEnvelope, api_route, raw_json, to_json, validated_json
from portals.hygiene import BoundedDate, BoundedDateTime
from portals.limits import slot_holds
from portals.patient import patient
from portals.schemas import wire_datetime


class HoldRequest(ApiModel):
    doctor_id: uuid.UUID | None = None
    start: BoundedDateTime | None = None
    slot_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_way(self) -> HoldRequest:
        if self.slot_id is None and (self.doctor_id is None or self.start is None):
            raise ValueError("give {doctorId, start} or {slotId}")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start needs a time zone offset")
        return self


class HoldOut(ApiModel):
    slot_id: uuid.UUID
    doctor_id: uuid.UUID
    start: datetime
    end: datetime
    locked_until: datetime


@api_route(patient.post("/api/slots/hold"), role="patient", guards=[slot_holds], confirms_token=True, json=HoldRequest,
           resp=Response(HTTP_201=HoldOut, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope, HTTP_422=ErrorEnvelope),
           tags=["availability"], skip_validation=True)
def hold():
    """Hold a free slot for 15 minutes; a second caller gets 409 ERR_SLOT_CONFLICT. 429
    ERR_RATE_LIMITED beyond 10 holds (this and create-pending together) in 10 minutes."""
    body: HoldRequest = validated_json(HoldRequest)  # documented by spectree, parsed here (issue 21)
    held = hold_slot(current_user.actor, doctor_id=body.doctor_id, start=body.start,
                     slot_id=body.slot_id)
    # The wire shape of HoldOut, built directly (a model per hold was measurable, issue 21); a
    # test keeps it equal to HoldOut's (spectree does not check this route's answers).
    return raw_json({"slotId": str(held.slot_id), "doctorId": str(held.doctor_id), "start": wire_datetime(held.start),
                     "end": wire_datetime(held.end), "lockedUntil": wire_datetime(held.locked_until)}, 201)


@api_route(patient.delete("/api/slots/hold/<uuid:slot_id>"), role="patient",
           resp=Response("HTTP_204", HTTP_404=ErrorEnvelope), tags=["availability"])
def release(slot_id: uuid.UUID):
    """Give a held slot back."""
    release_hold(current_user.actor, slot_id)
    return "", 204


class PendingRequest(ApiModel):
    doctor_id: uuid.UUID
    start: BoundedDateTime

    @model_validator(mode="after")
    def _offset(self) -> PendingRequest:
        if self.start.tzinfo is None:
            raise ValueError("start needs a time zone offset")
        return self


class PendingOut(ApiModel):
    id: uuid.UUID
    status: str
    doctor_id: uuid.UUID
    start: datetime
    end: datetime
    hold_expires_at: datetime
    price_cents: int
    currency: str
    checkout_url: str = Field(description="Where the patient pays for the held time.")
    checkout_session_id: str | None = Field(
        default=None, description="The payment provider's checkout session, once payment has started.")


@api_route(patient.post("/api/appointments/create-pending"), role="patient", guards=[slot_holds], json=PendingRequest,
           resp=Response(HTTP_201=PendingOut, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope, HTTP_422=ErrorEnvelope),
           tags=["appointments"])
def create_pending_appointment():
    """Hold the time for 15 minutes and create the pending appointment the payment confirms.
    409 ERR_SLOT_CONFLICT when the time was taken. The same patient asking again for the same time
    gets the same appointment. `checkoutUrl` is the checkout page (summary, health profile if still
    missing, card or credit); `checkoutSessionId` is the open payment session, `null` until the
    health profile is saved (SPEC §6: required before the first payment). 429 ERR_RATE_LIMITED
    beyond 10 holds (this and `/api/slots/hold` together) in 10 minutes per patient."""
    body: PendingRequest = request.context.json
    pending = create_pending(current_user.actor, body.doctor_id, body.start)
    try:
        session_id = start_payment(current_user.actor, pending.id).session_id
    except ProfileIncomplete:
        session_id = None  # the checkout page asks the health profile first, then opens the session
    return to_json(PendingOut(id=pending.id, status=pending.status, doctor_id=pending.doctor_id,
                              start=pending.start, end=pending.end, hold_expires_at=pending.hold_expires_at,
                              price_cents=pending.price_cents, currency=pending.currency,
                              checkout_url=url_for("patient.checkout", appointment_id=pending.id),
                              checkout_session_id=session_id), 201)


class ProfileIn(ApiModel):
    date_of_birth: BoundedDate
    gender: str = Field(description="female | male | non_binary | undisclosed")
    primary_conditions: list[str] = Field(default_factory=list, max_length=20)
    allergies: list[str] = Field(default_factory=list, max_length=20)


class ProfileOut(ApiModel):
    date_of_birth: date | None
    gender: str | None
    primary_conditions: list[str]
    allergies: list[str]
    completed: bool
    progress: int


def _profile_out(p) -> ProfileOut:
    return ProfileOut.model_validate(p)


@api_route(patient.get("/api/patient/profile"), role="patient",
           resp=Response(HTTP_200=ProfileOut, HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope), tags=["patient"])
def profile():
    """The signed-in patient's health profile and onboarding progress."""
    return to_json(_profile_out(get_profile(current_user.actor)))


@api_route(patient.put("/api/patient/profile"), role="patient", json=ProfileIn,
           resp=Response(HTTP_200=ProfileOut, HTTP_422=ErrorEnvelope), tags=["patient"])
def update_profile():
    """Save the health profile; the first complete save finishes onboarding."""
    body: ProfileIn = request.context.json
    saved = save_profile(current_user.actor, date_of_birth=body.date_of_birth, gender=body.gender,
                         primary_conditions=body.primary_conditions, allergies=body.allergies)
    return to_json(_profile_out(saved))
