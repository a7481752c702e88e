"""Read models of appointments, with their payment. Row-level security decides whose rows an
actor can see: these queries never filter by user themselves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from core.actor import Actor
from core.db import unit_of_work
from core.errors import NotFound
from core.i18n import N_
from core.models import Appointment, Doctor, Payment


@dataclass(frozen=True)
class PaymentView:
    status: str
    provider: str
    amount_cents: int
    refunded_cents: int
    currency: str


@dataclass(frozen=True)
class AppointmentView:
    id: uuid.UUID
    doctor_id: uuid.UUID
    doctor_name: str
    patient_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    status: str
    reschedule_count: int = 0
    hold_expires_at: datetime | None = None
    payment: PaymentView | None = None


def _latest_payments(session, appointment_ids: list[uuid.UUID]) -> dict[uuid.UUID, PaymentView]:
    """The payment that counts for each appointment: a settled one, else the newest attempt."""
    rank = {"succeeded": 0, "refunded": 0, "partially_refunded": 0}
    found: dict[uuid.UUID, tuple[tuple, PaymentView]] = {}
    if not appointment_ids:
        return {}
    rows = session.scalars(select(Payment).where(Payment.appointment_id.in_(appointment_ids)))
    for p in rows:
        key = (rank.get(p.status, 1), -p.created_at.timestamp())
        view = PaymentView(p.status, p.provider, p.amount_cents, p.refunded_cents, p.currency)
        if p.appointment_id not in found or key < found[p.appointment_id][0]:
            found[p.appointment_id] = (key, view)
    return {k: v for k, (_, v) in found.items()}


def list_appointments(actor: Actor, *, limit: int = 100) -> list[AppointmentView]:
    """The actor's appointments, soonest first, each with its payment."""
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(Appointment, Doctor.display_name)
            .join(Doctor, Doctor.id == Appointment.doctor_id)
            .order_by(Appointment.start_at)
            .limit(limit)
        ).all()
        payments = _latest_payments(uow.session, [a.id for a, _ in rows])
        return [_view(a, name, payments.get(a.id)) for a, name in rows]


@dataclass(frozen=True)
class AppointmentPage:
    items: list[AppointmentView]
    next_after: tuple[datetime, uuid.UUID] | None  # (start, id) of the last item when more follow


def page_appointments(actor: Actor, *, limit: int = 50,
                      after: tuple[datetime, uuid.UUID] | None = None) -> AppointmentPage:
    """`GET /api/appointments` (SPEC §12): the actor's appointments, latest start first, `limit` at a
    time. Keyset paging on (start, id) — `after` is the last item of the previous page — so a page
    neither skips nor repeats rows when appointments are added meanwhile, and costs the same deep
    in the list as at its head."""
    with unit_of_work(actor) as uow:
        query = (select(Appointment, Doctor.display_name).join(Doctor, Doctor.id == Appointment.doctor_id)
                 .order_by(Appointment.start_at.desc(), Appointment.id.desc()).limit(limit + 1))
        if after is not None:
            query = query.where(tuple_(Appointment.start_at, Appointment.id) < tuple_(*after))
        rows = uow.session.execute(query).all()
        more, rows = len(rows) > limit, rows[:limit]
        payments = _latest_payments(uow.session, [a.id for a, _ in rows])
        items = [_view(a, name, payments.get(a.id)) for a, name in rows]
    return AppointmentPage(items, (items[-1].start_at, items[-1].id) if more else None)


def get_appointment(actor: Actor, appointment_id: uuid.UUID) -> AppointmentView:
    with unit_of_work(actor) as uow:
        row = uow.session.execute(
            select(Appointment, Doctor.display_name).join(Doctor, Doctor.id == Appointment.doctor_id)
            .where(Appointment.id == appointment_id)).one_or_none()
        if row is None:
            raise NotFound(N_("No such appointment."))
        return _view(row[0], row[1], _latest_payments(uow.session, [appointment_id]).get(appointment_id))


def _view(a: Appointment, doctor_name: str, payment: PaymentView | None) -> AppointmentView:
    return AppointmentView(a.id, a.doctor_id, doctor_name, a.patient_id, a.start_at, a.end_at, a.status,
                           a.reschedule_count, a.hold_expires_at, payment)
