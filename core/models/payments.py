"""Payments, subscriptions, the append-only credits ledger and the Stripe events seen."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("kind IN ('visit', 'subscription')", name="kind"),
        CheckConstraint("provider IN ('stripe', 'local', 'credit')", name="provider"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded', 'cancelled')",
            name="status",
        ),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        CheckConstraint("refunded_cents BETWEEN 0 AND amount_cents", name="refund_within_amount"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        Index("ix_payments_status_created", "status", "created_at"),
        # Admin KPIs (ARPA) by payment time, answered from the index alone (migration 0008).
        Index("ix_payments_created", "created_at", postgresql_include=[
            "status", "provider", "amount_cents", "refunded_cents", "user_id", "appointment_id"]),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), server_default="visit")
    provider: Mapped[str] = mapped_column(String(16))
    provider_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24), server_default="pending")
    amount_cents: Mapped[int]
    refunded_cents: Mapped[int] = mapped_column(server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("plan IN ('basic', 'premium')", name="plan"),
        CheckConstraint("status IN ('incomplete', 'active', 'past_due', 'cancelled')", name="status"),
        CheckConstraint("credits_per_period >= 0", name="credits_non_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    plan: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="incomplete")
    provider_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    credits_per_period: Mapped[int]
    current_period_end: Mapped[datetime | None]
    created_at: Mapped[datetime] = timestamp_now()


class CreditEntry(Base):
    """One line of the credits ledger. Append-only; the balance is derived, never negative."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('grant', 'spend', 'refund_credit', 'late_credit', 'adjustment')", name="kind"
        ),
        CheckConstraint("amount_cents <> 0", name="amount_non_zero"),
        CheckConstraint("balance_after_cents >= 0", name="balance_never_negative"),
        CheckConstraint("(kind = 'spend') = (amount_cents < 0) OR kind = 'adjustment'", name="sign_by_kind"),
        Index("ix_credit_entries_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int]
    # Filled by a trigger under a per-user lock: the running balance after this entry.
    balance_after_cents: Mapped[int] = mapped_column(server_default=text("0"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now()


class StripeEvent(Base):
    """Each Stripe event id is handled once: a replay finds its row and does nothing."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime | None]  # Stripe's own time, to order out-of-order events
    received_at: Mapped[datetime] = timestamp_now()
    processed_at: Mapped[datetime | None]
