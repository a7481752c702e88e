"""Doctors' public profiles (readable by everyone) and their Cal.com busy events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk


class Doctor(Base):
    __tablename__ = "doctors"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("status IN ('pending', 'approved', 'suspended')", name="status"),
        CheckConstraint("rpps ~ '^[0-9]{11}$'", name="rpps_digits"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # Short public number: the RPPS shown on profiles is 10003{number}789 (SPEC §7).
    number: Mapped[int] = mapped_column(Identity(start=1), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(100), index=True)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(8)), server_default="{}")
    bio: Mapped[str] = mapped_column(Text, server_default="")
    education: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    expertise: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    philosophy: Mapped[str] = mapped_column(Text, server_default="")
    faqs: Mapped[list] = mapped_column(JSONB, server_default="[]")
    timezone: Mapped[str] = mapped_column(String(64), server_default="Europe/Paris")
    online: Mapped[bool] = mapped_column(server_default=text("true"))
    # "Taking consultations now" (SPEC §17): offered walk-in patients; only while online.
    taking_now: Mapped[bool] = mapped_column(server_default=text("false"))
    price_cents: Mapped[int] = mapped_column(server_default=text("3500"))
    # Cal.com: the calendar whose busy times block slots, and the schedule we push slots to.
    cal_credential_id: Mapped[int | None]
    cal_external_id: Mapped[str | None] = mapped_column(String(254))
    cal_schedule_id: Mapped[int | None]
    cal_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = timestamp_now()
    # SPEC §19 (migration 0010): weekly hours (NULL: the 10:00–21:00 default, see
    # core.doctors.weekly_hours), the review state only staff change, the real RPPS, the private
    # feed's token version and the per-doctor Cal.com switch.
    weekly_hours: Mapped[dict | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="approved")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    feed_version: Mapped[int] = mapped_column(server_default=text("0"))
    cal_enabled: Mapped[bool] = mapped_column(server_default=text("true"))


class DoctorPhoto(Base):
    """The re-encoded profile photo (SPEC §19): 400×400 WebP and a JPEG fallback, no metadata."""

    __tablename__ = "doctor_photos"

    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), primary_key=True)
    webp: Mapped[bytes] = mapped_column(LargeBinary)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = timestamp_now()


class DoctorInvitation(Base):
    """A single-use invitation link (SPEC §19), valid 7 days, stored only hashed."""

    __tablename__ = "doctor_invitations"
    __table_args__ = (Index("ix_doctor_invitations_email", text("lower(email)")),)

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = timestamp_now()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# A doctor's rating is computed from the real rows (SPEC §18): the view `doctor_rating_stats`
# (migration 0009) gives the count, the mean and the Bayesian average used for sorting. Not a
# mapped table: join it where a rating is shown or sorted on.
rating_stats = table("doctor_rating_stats", column("doctor_id"), column("rating_count"),
                     column("rating_avg"), column("rating_bayes"))


class ExternalBusy(Base):
    """A busy interval ingested from the doctor's Cal.com calendar; blocks slots like a booking."""

    __tablename__ = "external_busy"
    __table_args__ = (
        UniqueConstraint("doctor_id", "external_id"),
        CheckConstraint("end_at > start_at", name="positive_length"),
        Index("ix_external_busy_doctor_start", "doctor_id", "start_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(32), server_default="cal.com")
    updated_at: Mapped[datetime] = timestamp_now()
