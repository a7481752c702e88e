"""Appointments, their change history, ratings and video readiness tests."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, SmallInteger, String, Text, or_, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk

APPOINTMENT_STATUSES = ("pending", "paid", "confirmed", "completed", "cancelled", "no_show")
# Statuses that occupy the doctor's time: the double-booking guard and the buffer count these.
ACTIVE_STATUSES = ("pending", "paid", "confirmed")


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'paid', 'confirmed', 'completed', 'cancelled', 'no_show')", name="status"
        ),
        CheckConstraint("cancelled_by IS NULL OR cancelled_by IN ('patient', 'doctor', 'admin')",
                        name="cancelled_by"),
        CheckConstraint("status <> 'cancelled' OR cancelled_at IS NOT NULL", name="cancel_time"),
        CheckConstraint("reschedule_count BETWEEN 0 AND 2", name="max_reschedules"),
        CheckConstraint("end_at > start_at", name="positive_length"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        Index("ix_appointments_doctor_start", "doctor_id", "start_at"),
        Index("ix_appointments_patient_start", "patient_id", "start_at"),
        # Admin KPIs by start time, answered from the index alone (migration 0008).
        Index("ix_appointments_start", "start_at", postgresql_include=["status", "end_at", "doctor_id", "patient_id"]),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="RESTRICT"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slots.id", ondelete="SET NULL"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    reschedule_count: Mapped[int] = mapped_column(server_default=text("0"))
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    hold_expires_at: Mapped[datetime | None]
    price_cents: Mapped[int] = mapped_column(server_default=text("3500"))
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


def hold_not_over(now: datetime) -> ColumnElement[bool]:
    """An appointment still counts as it stands unless it is an unpaid hold whose 15 minutes are
    over (the rule of the double-booking guard and `doctor_busy_times()`, migration 0009a)."""
    return or_(Appointment.status != "pending", Appointment.hold_expires_at.is_(None),
               Appointment.hold_expires_at > now)


class AppointmentChange(Base):
    __tablename__ = "appointment_changes"
    __table_args__ = (
        CheckConstraint("action IN ('reschedule', 'cancel')", name="action"),
        CheckConstraint("actor_role IN ('patient', 'doctor', 'admin', 'system')", name="actor_role"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = timestamp_now()


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        CheckConstraint("comment_status IN ('none', 'pending', 'approved', 'hidden')", name="comment_status"),
        CheckConstraint("comment IS NULL OR char_length(comment) <= 1000", name="comment_length"),
        Index("ix_ratings_comment_status", "comment_status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), unique=True
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"), index=True)
    stars: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    # A comment is published only once an admin approves it (SPEC §18): none | pending | approved | hidden.
    comment_status: Mapped[str] = mapped_column(String(16), server_default="none")
    moderated_at: Mapped[datetime | None]
    moderated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = timestamp_now()


class VideoTest(Base):
    __tablename__ = "video_tests"
    __table_args__ = (
        CheckConstraint("outcome IN ('passed', 'audio_only', 'failed')", name="outcome"),
        CheckConstraint("passed = (outcome <> 'failed')", name="passed_matches_outcome"),
        Index("ix_video_tests_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    passed: Mapped[bool]
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = timestamp_now()


VISIT_EVENT_KINDS = ("waiting", "joined", "left", "reconnected", "ended")


class VisitEvent(Base):
    """Presence in a consultation's room (SPEC §16): each participant's transitions, and the
    settlement's `ended` rows (no user; `outcome` says what the settlement did, once per outcome)."""

    __tablename__ = "visit_events"
    __table_args__ = (
        CheckConstraint("kind IN ('waiting', 'joined', 'left', 'reconnected', 'ended')", name="kind"),
        CheckConstraint("role IN ('patient', 'doctor', 'system')", name="role"),
        CheckConstraint("(kind = 'ended') = (outcome IS NOT NULL)", name="outcome_on_end"),
        Index("ix_visit_events_appointment_at", "appointment_id", "occurred_at"),
        # The settlement writes each outcome once, whatever the number of workers racing on it.
        Index("uq_visit_events_outcome", "appointment_id", "outcome", unique=True,
              postgresql_where=text("kind = 'ended'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str | None] = mapped_column(String(16))
    details: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    occurred_at: Mapped[datetime] = timestamp_now()
