"""Presence in the consultation room (SPEC §16): `visit_events` rows on each transition — waiting,
joined, left, reconnected — and what they mean for the doctor's list ("waiting since 10:02 ·
devices ready") and for the patient ("Dr X has joined").

`summarise` is a rule over plain values; `record` and `load` run in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import N_
from core.models import VisitEvent
from core.video import policy

PARTICIPANT_KINDS = ("waiting", "joined", "left", "reconnected")
IN_ROOM = ("joined", "reconnected")


@dataclass(frozen=True)
class Event:
    role: str
    kind: str
    at: datetime


@dataclass(frozen=True)
class Presence:
    """Where one participant is now: away, waiting (the waiting room) or in the room, and since when."""

    state: str  # away | waiting | in_room
    since: datetime | None
    ever_joined: bool
    ever_came: bool  # waited or joined at least once


def summarise(events: list[Event]) -> Presence:
    """One participant's presence from their events, oldest first: `left` ends a stretch; the
    stretch's first event is "since"; a join in it makes it "in the room"."""
    state, since, joined, came = "away", None, False, False
    for e in events:
        if e.kind == "left":
            state, since = "away", None
            continue
        if e.kind not in ("waiting", *IN_ROOM):
            continue
        came = True
        if since is None:
            since = e.at
        if e.kind in IN_ROOM:
            state, joined = "in_room", True
        elif state != "in_room":
            state = "waiting"
    return Presence(state, since, joined, came)


def readiness(test: policy.LastTest | None, now: datetime) -> str:
    """The device-test state as the doctor reads it: ready | audio_only | failed | not_tested."""
    if test is None or now - test.tested_at > policy.TEST_VALID_FOR:
        return "not_tested"
    if test.outcome == "passed":
        return "ready"
    return "audio_only" if test.outcome == "audio_only" else "failed"


READINESS_WORDS = {"ready": N_("devices ready"), "audio_only": N_("audio only"), "failed": N_("device test failed"),
                   "not_tested": N_("not tested")}


def record(session: Session, appointment_id: uuid.UUID, user_id: uuid.UUID, role: str, kind: str, at: datetime,
           details: dict | None = None) -> None:
    """Add one participant event (RLS: only the participant themself, for their own appointment)."""
    if kind not in PARTICIPANT_KINDS:
        raise ValueError(f"unknown visit event {kind!r}")
    session.add(VisitEvent(appointment_id=appointment_id, user_id=user_id, role=role, kind=kind,
                           details=details or {}, occurred_at=at))
    session.flush()


def load(session: Session, appointment_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, list[Event]]]:
    """appointment → role → its participant events, oldest first."""
    out: dict[uuid.UUID, dict[str, list[Event]]] = {a: {"patient": [], "doctor": []} for a in appointment_ids}
    if not appointment_ids:
        return out
    rows = session.execute(
        select(VisitEvent.appointment_id, VisitEvent.role, VisitEvent.kind, VisitEvent.occurred_at)
        .where(VisitEvent.appointment_id.in_(appointment_ids), VisitEvent.kind.in_(PARTICIPANT_KINDS))
        .order_by(VisitEvent.occurred_at, VisitEvent.id)).all()
    for appointment_id, role, kind, at in rows:
        out[appointment_id].setdefault(role, []).append(Event(role, kind, at))
    return out


def latest_kind(events: list[Event]) -> str | None:
    return events[-1].kind if events else None
