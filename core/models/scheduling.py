"""Explicit availability slots, with the brief's hold columns (SPEC §2, §3)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("doctor_id", "start_at"),
        CheckConstraint("end_at > start_at", name="positive_length"),
        CheckConstraint("locked_by IS NULL OR locked_until IS NOT NULL", name="hold_complete"),
        CheckConstraint("source IN ('doctor', 'template', 'seed')", name="source"),
        Index("ix_slots_locked_until", "locked_until", postgresql_where=text("locked_until IS NOT NULL")),
        # A patient's current holds: the hold gives back the previous one with the same doctor
        # without reading every slot row the doctor ever had (migration 0013b).
        Index("ix_slots_locked_by", "locked_by", postgresql_where=text("locked_by IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    is_available: Mapped[bool] = mapped_column(server_default=text("true"))
    source: Mapped[str] = mapped_column(String(16), server_default="doctor")
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = timestamp_now()
