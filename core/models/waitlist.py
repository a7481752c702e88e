"""The waitlist of SPEC §17: "tell me if an earlier time frees up" (migration 0011e)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk


class WaitlistEntry(Base):
    """A patient waiting for an earlier start with one doctor, until `until_at`: earlier than their
    booking `appointment_id` when they have one."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'fulfilled', 'cancelled', 'expired')", name="status"),
        CheckConstraint("status = 'active' OR ended_at IS NOT NULL", name="ended"),
        Index("uq_waitlist_entries_active", "patient_id", "doctor_id", unique=True,
              postgresql_where=text("status = 'active'")),
        Index("ix_waitlist_entries_doctor_queue", "doctor_id", "created_at", "id",
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    until_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), server_default="active")
    created_at: Mapped[datetime] = timestamp_now()
    ended_at: Mapped[datetime | None]


class WaitlistOffer(Base):
    """A freed start offered to one waiter, held for them until `expires_at`."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint("status IN ('offered', 'accepted', 'declined', 'expired', 'lapsed')", name="status"),
        CheckConstraint("expires_at > offered_at", name="expires_after_offer"),
        Index("uq_waitlist_offers_live_start", "doctor_id", "start_at", unique=True,
              postgresql_where=text("status = 'offered'")),
        Index("uq_waitlist_offers_live_entry", "entry_id", unique=True, postgresql_where=text("status = 'offered'")),
        Index("uq_waitlist_offers_entry_start", "entry_id", "start_at", unique=True),
        Index("ix_waitlist_offers_expiry", "expires_at", postgresql_where=text("status = 'offered'")),
        Index("ix_waitlist_offers_user", "user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slots.id", ondelete="SET NULL"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), server_default="offered")
    offered_at: Mapped[datetime] = timestamp_now()
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
