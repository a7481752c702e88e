"""Owed side effects: what must happen after a commit, written in the same transaction (DESIGN
"Owed side effects"). A row is the debt; `core.owed` pays it, once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk


class OwedEffect(Base):
    """One task owed by a committed transaction: a dotted path and its JSON arguments, executed by
    `core.owed.run_owed` (right after the commit through RQ, else by the minute's sweep)."""

    __tablename__ = "owed_effects"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The sweep reads the few rows still owed, by when they are due.
        Index("ix_owed_effects_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    task: Mapped[str] = mapped_column(String(200))  # dotted path, e.g. core.payments.refunds.execute_refund
    args: Mapped[list] = mapped_column(JSONB, server_default="[]")
    kwargs: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    # Owed once whatever the number of transactions that owe it (e.g. `refund:<payment>:<cents>`).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(8), server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = timestamp_now()
    last_error: Mapped[str | None] = mapped_column(String(200))  # the exception's class, never personal data
    created_at: Mapped[datetime] = timestamp_now()
    done_at: Mapped[datetime | None]
