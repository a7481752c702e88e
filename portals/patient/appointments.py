"""The appointments API (SPEC §12): `GET /api/appointments` (keyset pages, the latest start first)
and `GET /api/appointments/<id>`, for the patient, the doctor and the admin, each seeing what
row-level security lets them see, with the payment of each."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from flask import request
from flask_login import current_user
from pydantic import Field
from spectree import Response

from core.booking.queries import get_appointment, page_appointments
from core.errors import ValidationFailed
from core.i18n import N_
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.hygiene import MAX_YEAR, MIN_YEAR
from portals.patient import patient


class PaymentOut(ApiModel):
    status: str
    provider: str
    amount: int = Field(description="cents")
    refunded_amount: int = Field(description="cents")
    currency: str


class AppointmentOut(ApiModel):
    id: uuid.UUID
    doctor_id: uuid.UUID
    doctor_name: str
    start: datetime
    end: datetime
    status: str
    reschedule_count: int
    hold_expires_at: datetime | None
    payment: PaymentOut | None


class AppointmentList(ApiModel):
    appointments: list[AppointmentOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; "
                                                              "null on the last page.")


class AppointmentsQuery(ApiModel):
    limit: int = Field(default=50, ge=1, le=100, description="At most this many (default 50, at most 100).")
    cursor: str | None = Field(default=None, max_length=200, description="`nextCursor` of the previous page.")


def encode_cursor(after: tuple[datetime, uuid.UUID]) -> str:
    """Opaque to clients: the (start, id) of the last item, base64url."""
    start, appointment_id = after
    return base64.urlsafe_b64encode(f"{start.isoformat()}|{appointment_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, _, appointment_id = raw.partition("|")
        after = datetime.fromisoformat(start), uuid.UUID(appointment_id)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise ValidationFailed(N_("cursor: not a cursor this API gave out.")) from None
    if after[0].tzinfo is None or not MIN_YEAR <= after[0].year <= MAX_YEAR:
        raise ValidationFailed(N_("cursor: not a cursor this API gave out."))
    return after


def appointment_out(a) -> AppointmentOut:
    p = a.payment
    return AppointmentOut(
        id=a.id, doctor_id=a.doctor_id, doctor_name=a.doctor_name, start=a.start_at,
        end=a.end_at, status=a.status, reschedule_count=a.reschedule_count, hold_expires_at=a.hold_expires_at,
        payment=PaymentOut(status=p.status, provider=p.provider, amount=p.amount_cents,
                           refunded_amount=p.refunded_cents, currency=p.currency) if p else None)


@api_route(patient.get("/api/appointments"), role=("patient", "doctor", "admin"), query=AppointmentsQuery,
           resp=Response(HTTP_200=AppointmentList, HTTP_401=ErrorEnvelope, HTTP_422=ErrorEnvelope),
           tags=["appointments"])
def api_appointments():
    """The caller's appointments (a patient's own, a doctor's own, all for an admin), with payment:
    the latest start first, `limit` per page; follow `nextCursor` until it is null."""
    query: AppointmentsQuery = request.context.query
    found = page_appointments(current_user.actor, limit=query.limit,
                              after=decode_cursor(query.cursor) if query.cursor else None)
    return to_json(AppointmentList(appointments=[appointment_out(a) for a in found.items],
                                   next_cursor=encode_cursor(found.next_after) if found.next_after else None))


@api_route(patient.get("/api/appointments/<uuid:appointment_id>"), role=("patient", "doctor", "admin"),
           resp=Response(HTTP_200=AppointmentOut, HTTP_404=ErrorEnvelope), tags=["appointments"])
def api_appointment(appointment_id: uuid.UUID):
    """One appointment with its status and payment {status, amount, refundedAmount}."""
    return to_json(appointment_out(get_appointment(current_user.actor, appointment_id)))
