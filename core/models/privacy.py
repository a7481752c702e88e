"""Privacy self-service (SPEC §21): data exports, consents, email-verification links."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk

EXPORT_STATUSES = ("queued", "building", "ready", "downloaded", "expired", "failed")
CONSENT_KINDS = ("terms", "privacy", "marketing")


class DataExport(Base):
    """One "Download my data" request; the ZIP lives here until its link is used or expires."""

    __tablename__ = "data_exports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'building', 'ready', 'downloaded', 'expired', 'failed')",
                        name="status"),
        CheckConstraint("status <> 'ready' OR (archive IS NOT NULL AND token_hash IS NOT NULL "
                        "AND expires_at IS NOT NULL)", name="ready_complete"),
        Index("ix_data_exports_user", "user_id", "requested_at"),
        Index("uq_data_exports_in_progress", "user_id", unique=True,
              postgresql_where=text("status IN ('queued', 'building')")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 hex of the link's token
    archive: Mapped[bytes | None] = mapped_column(LargeBinary)
    size_bytes: Mapped[int | None]
    requested_at: Mapped[datetime] = timestamp_now()
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    downloaded_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(String(200))  # an exception class name, no personal data


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("kind IN ('terms', 'privacy', 'marketing')", name="kind"),
        CheckConstraint("withdrawn_at IS NULL OR withdrawn_at >= accepted_at", name="withdrawn_after"),
        Index("uq_consents_live", "user_id", "kind", "version", unique=True,
              postgresql_where=text("withdrawn_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = timestamp_now()
    withdrawn_at: Mapped[datetime | None]


class EmailVerificationToken(Base):
    __tablename__ = "email_verification_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # the address the link proves; a changed email needs its own
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = timestamp_now()
