"""Reschedule, cancel and history of an appointment (SPEC §5): patients, their doctors and admins.

The routes check only that the caller is signed in with one of the three roles; who may change
which appointment, and when, is decided by `core.booking.changes` (and row-level security).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from flask import request
from flask_login import current_user
from pydantic import Field, model_validator
from spectree import Response

from core.booking.changes import AppointmentState, Change, cancel, history, reschedule
from core.errors import ValidationFailed
from core.i18n import N_
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.hygiene import BoundedDateTime
from portals.patient import patient

PARTIES = ("patient", "doctor", "admin")
ERRORS = dict(HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope,
              HTTP_422=ErrorEnvelope)


class RescheduleRequest(ApiModel):
    new_slot_id: uuid.UUID | None = Field(default=None, description="A slot of the same doctor.")
    new_start: BoundedDateTime | None = Field(default=None,
                                       description="A start with its offset, e.g. 2026-03-03T14:30:00+01:00.")
    reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _one_way(self) -> RescheduleRequest:
        if (self.new_slot_id is None) == (self.new_start is None):
            raise ValueError("give either newSlotId or newStart")
        if self.new_start is not None and self.new_start.tzinfo is None:
            raise ValueError("newStart needs a time zone offset")
        return self


class CancelRequest(ApiModel):
    reason: str | None = Field(default=None, max_length=1000, description="Required when a doctor cancels.")
    refund_as: Literal["card", "credit"] = Field(
        default="card", description="The patient's choice when cancelling ≥ 60 min before: money back or credit.")


class AppointmentOut(ApiModel):
    id: uuid.UUID
    doctor_id: uuid.UUID
    status: str
    start: datetime
    end: datetime
    slot_id: uuid.UUID | None
    reschedule_count: int
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None


class RescheduleOut(ApiModel):
    appointment: AppointmentOut


class CancelOut(ApiModel):
    appointment: AppointmentOut
    refund_as: Literal["card", "credit", "none"] = Field(description="Where the price went back.")
    refunded_cents: int = Field(description="Paid back to the card (the gateway refund follows).")
    credit_cents: int = Field(description="Added to the patient's credits: the price taken as credit, plus "
                                          "€10 when the doctor cancelled less than 60 minutes before.")
    late_credit_cents: int = Field(description="Of creditCents, the doctor's late-cancellation credit.")


class ChangeOut(ApiModel):
    id: uuid.UUID
    action: Literal["reschedule", "cancel"]
    actor_role: str
    actor_id: uuid.UUID | None
    reason: str | None
    before: dict | None
    after: dict | None
    created_at: datetime


class HistoryOut(ApiModel):
    appointment_id: uuid.UUID
    changes: list[ChangeOut]


def _appointment(a: AppointmentState) -> AppointmentOut:
    return AppointmentOut.model_validate(a)


def _change(c: Change) -> ChangeOut:
    return ChangeOut.model_validate(c)


def _require_json_object() -> None:
    """spectree validates an unparsable body (or `[]`, `null`) as `{}`; with every field optional
    that would cancel on garbage. Such a body is a 422, like any other bad input (no body is `{}`)."""
    if request.content_length and not isinstance(request.get_json(silent=True), dict):
        raise ValidationFailed(N_("Send the body as a JSON object, e.g. {\"reason\": \"…\"}."))


@api_route(patient.patch("/api/appointments/<uuid:appointment_id>/reschedule"), role=PARTIES, json=RescheduleRequest,
           resp=Response(HTTP_200=RescheduleOut, **ERRORS), tags=["appointments"])
def reschedule_appointment(appointment_id: uuid.UUID):
    """Move a paid appointment to another free time of the same doctor: ≥ 60 min before its start
    (ERR_TIME_WINDOW), at most twice (ERR_MAX_RESCHEDULES), ERR_SLOT_CONFLICT when the time is taken."""
    _require_json_object()
    body: RescheduleRequest = request.context.json
    moved = reschedule(current_user.actor, appointment_id, new_start=body.new_start, new_slot_id=body.new_slot_id,
                       reason=body.reason)
    return to_json(RescheduleOut(appointment=_appointment(moved)))


@api_route(patient.patch("/api/appointments/<uuid:appointment_id>/cancel"), role=PARTIES, json=CancelRequest,
           resp=Response(HTTP_200=CancelOut, **ERRORS), tags=["appointments"])
def cancel_appointment(appointment_id: uuid.UUID):
    """Cancel: a patient ≥ 60 min before the start, a doctor any time with a reason, an admin any
    time. The answer states the refund (to the card or as credit)."""
    _require_json_object()
    body: CancelRequest = request.context.json
    done = cancel(current_user.actor, appointment_id, body.reason, body.refund_as)
    return to_json(CancelOut(appointment=_appointment(done.appointment), refund_as=done.refund.refund_as,
                             refunded_cents=done.refund.refund_cents, credit_cents=done.refund.total_credit_cents,
                             late_credit_cents=done.refund.late_credit_cents))


@api_route(patient.get("/api/appointments/<uuid:appointment_id>/history"), role=PARTIES,
           resp=Response(HTTP_200=HistoryOut, HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope, HTTP_404=ErrorEnvelope),
           tags=["appointments"])
def appointment_history(appointment_id: uuid.UUID):
    """The appointment's reschedules and cancellation, oldest first."""
    changes = history(current_user.actor, appointment_id)
    return to_json(HistoryOut(appointment_id=appointment_id, changes=[_change(c) for c in changes]))
