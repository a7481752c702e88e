"""The support inbox (issue 25; migration 0010j): conversations with the care team, their messages,
and the health details typed by patients, kept apart so that admins read them only when revealed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk

SUPPORT_STATUSES = ("open", "waiting_on_us", "waiting_on_you", "closed")


class SupportConversation(Base):
    __tablename__ = "support_conversations"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'waiting_on_us', 'waiting_on_you', 'closed')", name="status"),
        CheckConstraint("(user_id IS NULL) = (guest_email IS NOT NULL)", name="who"),
        Index("ix_support_conversations_user", "user_id"),
        Index("ix_support_conversations_due", "due_at", postgresql_where=text("status = 'waiting_on_us'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guest_email: Mapped[str | None] = mapped_column(String(254))
    guest_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="waiting_on_us")
    priority: Mapped[bool] = mapped_column(server_default=text("false"))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class SupportMessage(Base):
    __tablename__ = "support_messages"
    __table_args__ = (
        CheckConstraint("author_role IN ('patient', 'doctor', 'admin', 'guest')", name="author_role"),
        CheckConstraint("health = (body IS NULL)", name="body_or_health"),
        Index("ix_support_messages_conversation", "conversation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("support_conversations.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_role: Mapped[str] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(Text)
    health: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = timestamp_now()


class SupportHealthBody(Base):
    """A message's text that its author marked as health details: readable by them and the system."""

    __tablename__ = "support_health_bodies"

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("support_messages.id", ondelete="CASCADE"),
                                                  primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
