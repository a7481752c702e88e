"""Funnel events (SPEC §9): the booking funnel is recorded by the product itself, step by step —
availability viewed → slot held → signed up → checkout started → paid → device test passed →
joined. A visitor is a random id kept in the (strictly necessary) session cookie, never a person."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from core.actor import Actor
from core.db import unit_of_work
from core.models.engagement import FUNNEL_STEPS

_INSERT = text("""INSERT INTO funnel_events (step, user_id, visitor_id, doctor_id, appointment_id, occurred_at)
                  VALUES (:step, :user_id, :visitor_id, :doctor_id, :appointment_id, :at)""")


def record(session: Session, step: str, *, user_id: uuid.UUID | None = None, visitor_id: str | None = None,
           doctor_id: uuid.UUID | None = None, appointment_id: uuid.UUID | None = None) -> None:
    """Add one event inside the caller's transaction (it commits, or not, with the step itself)."""
    if step not in FUNNEL_STEPS:
        raise ValueError(f"unknown funnel step {step!r}")
    # Plain SQL without RETURNING: only staff may read funnel rows back (RLS), and SQLAlchemy adds
    # "RETURNING id" to any insert into a table with an identity key.
    session.execute(_INSERT, {"step": step, "user_id": user_id, "visitor_id": (visitor_id or None) and visitor_id[:64],
                              "doctor_id": doctor_id, "appointment_id": appointment_id, "at": clock.now()})


def record_view(actor: Actor, doctor_id: uuid.UUID, visitor_id: str | None) -> None:
    """A doctor's availability was shown to someone (the profile page)."""
    with unit_of_work(actor) as uow:
        record(uow.session, "availability_viewed", user_id=actor.user_id, visitor_id=visitor_id, doctor_id=doctor_id)
