"""Recording a device self-test (SPEC §10): `POST /api/video-test/result` → `video_tests`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, funnel
from core.actor import Actor
from core.db import unit_of_work
from core.errors import Forbidden, ValidationFailed
from core.i18n import N_
from core.models import VideoTest
from core.video import policy
from core.video.participants import participation

TESTERS = ("patient", "doctor")


@dataclass(frozen=True)
class RecordedTest:
    id: uuid.UUID
    appointment_id: uuid.UUID | None
    outcome: str
    checks: dict[str, bool]
    tested_at: datetime

    @property
    def passed(self) -> bool:
        return self.outcome in policy.PASSING_OUTCOMES

    @property
    def valid_until(self) -> datetime | None:
        return self.tested_at + policy.TEST_VALID_FOR if self.passed else None


def record_test(actor: Actor, *, appointment_id: uuid.UUID | None, claimed_passed: bool,
                measurements: policy.Measurements, details: dict, stun_required: bool = True) -> RecordedTest:
    """Store one self-test of the actor's devices (SPEC §10), for an appointment they take part in
    or for none (the /devices page). The server re-checks the thresholds from the numbers: a
    `passed: true` whose numbers fail is refused (422 ERR_VALIDATION, naming the failing steps),
    and the outcome stored is the server's (`passed`, or `audio_only` when only the camera
    failed). A result the browser reports as failed is stored as failed."""
    if actor.role not in TESTERS or actor.user_id is None:
        raise Forbidden(N_("Only patients and doctors take the device test."))
    assessment = policy.assess(measurements, stun_required=stun_required)
    if claimed_passed and not assessment.passed:
        failed = assessment.failed_steps
        raise ValidationFailed("The measurements do not pass: " + ", ".join(failed) + ".",
                               details={"failedSteps": failed, "checks": assessment.checks})
    outcome = assessment.outcome if claimed_passed else "failed"
    now = clock.now()
    with unit_of_work(actor) as uow:
        if appointment_id is not None:
            participation(uow.session, actor, appointment_id)
        row = VideoTest(appointment_id=appointment_id, user_id=actor.user_id, passed=outcome != "failed",
                        outcome=outcome, details={**details, "checks": assessment.checks}, created_at=now)
        uow.session.add(row)
        uow.session.flush()
        if outcome != "failed" and actor.role == "patient":
            funnel.record(uow.session, "device_test_passed", user_id=actor.user_id, appointment_id=appointment_id)
        return RecordedTest(row.id, appointment_id, outcome, assessment.checks, now)


def latest_test(session: Session, user_id: uuid.UUID) -> policy.LastTest | None:
    """The user's most recent test, whatever it was for (the devices are the user's, not the
    appointment's)."""
    row = session.execute(select(VideoTest.created_at, VideoTest.outcome).where(VideoTest.user_id == user_id)
                          .order_by(VideoTest.created_at.desc()).limit(1)).one_or_none()
    return policy.LastTest(row[0], row[1]) if row else None


def latest_test_of(actor: Actor) -> policy.LastTest | None:
    """The actor's most recent test (for a page that enables a Join button)."""
    if actor.user_id is None:
        return None
    with unit_of_work(actor) as uow:
        return latest_test(uow.session, actor.user_id)
