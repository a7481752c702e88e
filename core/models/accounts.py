"""Users, patients' health profiles, password-reset tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('patient', 'doctor', 'admin')", name="role"),
        CheckConstraint("email = lower(email) AND position('@' in email) > 1", name="email_normalised"),
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), server_default="patient")
    full_name: Mapped[str] = mapped_column(String(200))
    # The language the user chose (SPEC §20: en, fr, de); NULL: pages follow the cookie and the browser,
    # emails go out in English.
    locale: Mapped[str | None] = mapped_column(String(8))
    # An IANA zone the user chose for showing times; NULL follows the device (the doktu_tz cookie).
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The zone the user's browser last reported (SPEC §20): emails and SMS use it when no zone was chosen.
    device_zone: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    # Bumped on password change: every session and token issued before it stops working.
    session_version: Mapped[int] = mapped_column(server_default=text("1"))
    # Appointment reminders (SPEC §11): by email unless switched off; by SMS to patients.phone if on.
    email_reminders: Mapped[bool] = mapped_column(server_default=text("true"))
    sms_reminders: Mapped[bool] = mapped_column(server_default=text("false"))
    # A new doctor↔patient message is announced by email (issue 25), unless switched off.
    email_message_notices: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = timestamp_now()
    last_login_at: Mapped[datetime | None]
    # NULL from self sign-up until its link is used (staff-made accounts default to verified); a new
    # address resets it (SPEC §21, trigger in migration 0009).
    email_verified_at: Mapped[datetime | None] = mapped_column(server_default=func.now())


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint(
            "gender IS NULL OR gender IN ('female', 'male', 'non_binary', 'undisclosed')", name="gender"
        ),
        # New patients by day, answered from the index alone (migration 0012k).
        Index("ix_patients_created", "created_at", postgresql_include=["user_id", "id"]),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    date_of_birth: Mapped[date | None]
    gender: Mapped[str | None] = mapped_column(String(16))
    primary_conditions: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    allergies: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164, e.g. +33612345678
    onboarded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = timestamp_now()


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; the token is never stored
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = timestamp_now()
