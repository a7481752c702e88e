"""Joining a consultation's video session (SPEC §10, §12: `GET /api/appointments/<id>/join`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core import clock, funnel
from core.actor import Actor
from core.db import unit_of_work
from core.models import User
from core.video import policy
from core.video.participants import participation
from core.video.readiness import latest_test
from core.video.zoom import SessionSigner, SignedSession


@dataclass(frozen=True)
class JoinSession:
    appointment_id: uuid.UUID
    participant_role: str  # doctor | patient
    user_name: str
    doctor_name: str
    start_at: datetime
    opens_at: datetime
    closes_at: datetime
    test: policy.LastTest
    provider: str  # zoom | development
    app_key: str
    signed: SignedSession

    @property
    def zoom_role(self) -> str:
        return "host" if self.signed.role_type == 1 else "attendee"


def join_session(actor: Actor, appointment_id: uuid.UUID, signer: SessionSigner) -> JoinSession:
    """Open the video session of a consultation for one of its two participants (SPEC §10, §12):
    only its patient or its doctor (others: 404 through row-level security, an admin 403), only
    from 5 minutes before the start to 30 minutes after it (ERR_TIME_WINDOW), only with a passed
    device test of the last 24 hours (ERR_VIDEO_TEST_REQUIRED; the doctor too). Returns the Zoom
    Video SDK signature: host for the doctor, attendee for the patient."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        part = participation(uow.session, actor, appointment_id)
        latest = latest_test(uow.session, actor.user_id)
        policy.check_join(now=now, start=part.start_at, status=part.status, latest_test=latest)
        name = uow.session.scalar(select(User.full_name).where(User.id == actor.user_id)) or ""
        if part.role == "patient":
            funnel.record(uow.session, "joined", user_id=actor.user_id, appointment_id=appointment_id)
    opens, closes = policy.join_window(part.start_at)
    signed = signer.sign(appointment_id=appointment_id, participant_role=part.role, user_id=actor.user_id, now=now)
    user_name = part.doctor_name if part.role == "doctor" else (name or "Patient")
    return JoinSession(appointment_id, part.role, user_name, part.doctor_name, part.start_at, opens, closes,
                       latest, signer.provider, signer.app_key, signed)
