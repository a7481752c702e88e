"""Messages between patient and doctor, funnel events, the notifications outbox, the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk

FUNNEL_STEPS = (
    "availability_viewed", "slot_held", "signed_up", "checkout_started", "paid",
    "device_test_passed", "joined",
)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("char_length(body) BETWEEN 1 AND 5000", name="body_length"),
        CheckConstraint("sender_id <> recipient_id", name="not_to_self"),
        Index("ix_messages_recipient_created", "recipient_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now()
    read_at: Mapped[datetime | None]


class FunnelEvent(Base):
    __tablename__ = "funnel_events"
    __table_args__ = (
        CheckConstraint("step IN (" + ", ".join(f"'{s}'" for s in FUNNEL_STEPS) + ")", name="step"),
        Index("ix_funnel_events_occurred_step", "occurred_at", "step"),
        # Admin KPIs: a period's holds and payments, answered from the index alone (migration 0008).
        Index("ix_funnel_events_step_occurred", "step", "occurred_at",
              postgresql_include=["appointment_id", "user_id"]),
        # The reminder sweep asks when each upcoming appointment was paid (migration 0007).
        Index("ix_funnel_events_appointment_id", "appointment_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = timestamp_now()
    visitor_id: Mapped[str | None] = mapped_column(String(64))  # random cookie id, not personal data
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    step: Mapped[str] = mapped_column(String(32))
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("doctors.id", ondelete="SET NULL"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )


class OutboxMessage(Base):
    """Every email/SMS we send or would send: the dev outbox and the delivery log."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'dev')", name="status"),
        # The redelivery sweep reads the few rows still queued (migration 0007) or whose send lease
        # ran out (0009).
        Index("ix_outbox_messages_queued", "created_at", postgresql_where=text("status = 'queued'")),
        Index("ix_outbox_messages_sending", "lease_until", postgresql_where=text("status = 'sending'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSONB, server_default="[]")
    status: Mapped[str] = mapped_column(String(8), server_default="queued")
    provider: Mapped[str | None] = mapped_column(String(32))
    # The idempotency key of a message about an event: `<event>:<appointment id>:<sequence>:<audience>:<channel>`.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(200))  # provider and status code only, no personal data
    created_at: Mapped[datetime] = timestamp_now()
    sent_at: Mapped[datetime | None]
    # While `sending`: no other delivery may send it before this moment (a worker killed mid-send).
    lease_until: Mapped[datetime | None]


class JobHeartbeat(Base):
    """When each periodic job last started and finished (the console's "jobs last ran" and its
    alert); no personal data."""

    __tablename__ = "job_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))


class AuditEvent(Base):
    """Append-only trail of who did what (views of health records included)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = timestamp_now()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    request_id: Mapped[str | None] = mapped_column(String(64))


class KpiDay(Base):
    """One Paris day's additive KPI figures (SPEC §22 "fresh KPIs"): kept by the roll-up job
    (core/metrics/rollups.py), re-computable for any past day; no personal data."""

    __tablename__ = "kpi_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    booked: Mapped[int] = mapped_column(BigInteger, server_default="0")
    held: Mapped[int] = mapped_column(BigInteger, server_default="0")
    held_paid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    completed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    no_show: Mapped[int] = mapped_column(BigInteger, server_default="0")
    booked_minutes: Mapped[float] = mapped_column(Float, server_default="0")
    offered_minutes: Mapped[float] = mapped_column(Float, server_default="0")
    net_revenue_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    new_patients: Mapped[int] = mapped_column(BigInteger, server_default="0")
    computed_at: Mapped[datetime]


class KpiDayAccount(Base):
    """The accounts behind a day's distinct counts (who booked, who paid), so a period's distinct
    accounts are counted over its days without reading every event again."""

    __tablename__ = "kpi_day_accounts"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # booking | paying
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The account's previous day of this kind (NULL: none), so a period's distinct accounts are a
    # plain count of the rows whose prev_day is before the period (core/metrics/rollups.py).
    prev_day: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint("kind IN ('booking', 'paying')", name="kind"),
                      # A period's days, whatever the kind, counted from the index alone (migration 0013a).
                      Index("ix_kpi_day_accounts_day", "day", "kind", postgresql_include=["prev_day"]),
                      # An account's days: its previous and next day, today's accounts seen earlier.
                      Index("ix_kpi_day_accounts_user", "kind", "user_id", "day"))


class KpiDayGap(Base):
    """Per kind and day, how many accounts came back after `gap` days (31: after 31 or more, or
    for the first time): a period's distinct accounts without reading its accounts (migration 0013a)."""

    __tablename__ = "kpi_day_gaps"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # booking | paying
    gap: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    accounts: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("kind IN ('booking', 'paying')", name="kind"),)
