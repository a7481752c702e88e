"""The audit trail (`audit_events`): append one row for what an actor did or looked at.

Plain SQL without RETURNING: row-level security lets an actor append rows about themselves but
only staff read the trail back, and an ORM insert would read its new id back (RETURNING)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from core.actor import Actor

_INSERT = text("""
    INSERT INTO audit_events (occurred_at, actor_id, actor_role, action, subject_type, subject_id, details)
    VALUES (:at, :actor, :role, :action, :subject_type, :subject_id, :details)
""").bindparams(bindparam("details", type_=JSONB))


def record_audit(session: Session, actor: Actor, *, action: str, subject_type: str, subject_id: str | None,
                 at: datetime, details: dict | None = None) -> None:
    """In the caller's transaction: the event is kept exactly when what it describes is."""
    session.execute(_INSERT, {"at": at, "actor": actor.user_id, "role": actor.role, "action": action,
                              "subject_type": subject_type, "subject_id": subject_id, "details": details or {}})
