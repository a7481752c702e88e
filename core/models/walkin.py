"""The walk-in queue of "See a doctor now" (SPEC §17; migration 0010h)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk

WALKIN_OPEN = ("unpaid", "waiting")


class WalkinRequest(Base):
    __tablename__ = "walkin_requests"
    __table_args__ = (
        CheckConstraint("status IN ('unpaid', 'waiting', 'accepted', 'left', 'refunded', 'cancelled')",
                        name="status"),
        CheckConstraint("status = 'accepted' OR (appointment_id IS NULL AND doctor_id IS NULL)",
                        name="only_accepted_has_appointment"),
        CheckConstraint("status IN ('unpaid', 'cancelled') OR paid_at IS NOT NULL", name="paid_before_queue"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        Index("uq_walkin_requests_payment", "payment_id", unique=True),
        Index("uq_walkin_requests_appointment", "appointment_id", unique=True),
        # One open request per patient; the queue in payment order; accepted ones for the usual wait.
        Index("uq_walkin_requests_open_per_patient", "patient_id", unique=True,
              postgresql_where=text("status IN ('unpaid', 'waiting')")),
        Index("ix_walkin_requests_queue", "paid_at", "id", postgresql_where=text("status = 'waiting'")),
        Index("ix_walkin_requests_accepted_at", "accepted_at", postgresql_where=text("status = 'accepted'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), server_default="unpaid")
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    created_at: Mapped[datetime] = timestamp_now()
    paid_at: Mapped[datetime | None]
    keep_waiting_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("doctors.id", ondelete="SET NULL"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
