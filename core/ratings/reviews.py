"""Ratings and reviews (SPEC §18).

After `completed`, the patient rates the consultation 1–5 with an optional comment (≤ 1,000
characters), once (a unique appointment id in `ratings`), within 30 days. The stars count at once;
a comment waits for an admin's approval (`comment_status` pending → approved | hidden, a trigger
lets only staff publish) and the admin's decision, with its reason, goes to `audit_events`. Profiles
show approved comments newest first with the reviewer's first name and initial only
(`approved_reviews()`); a doctor's rating and count come from `doctor_rating_stats`, a view over the
real rows, whose Bayesian average orders the search by rating.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core import clock, config
from core.actor import ANONYMOUS, Actor
from core.audit import record_audit
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import Forbidden, InvalidTransition, NotFound, TimeWindow, ValidationFailed
from core.i18n import N_
from core.models import Appointment, Doctor, Patient, Rating, User
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import language_of, render
from core.ratings.rules import MAX_COMMENT, RATING_WINDOW, clean_comment, rating_refusal


@dataclass(frozen=True)
class Given:
    id: uuid.UUID
    stars: int
    comment_status: str


@dataclass(frozen=True)
class RatingPrompt:
    appointment_id: uuid.UUID
    doctor_name: str
    start: datetime
    open_until: datetime


@dataclass(frozen=True)
class Review:
    id: uuid.UUID
    stars: int
    comment: str
    created_at: datetime
    reviewer: str  # first name and initial


@dataclass(frozen=True)
class PendingReview:
    id: uuid.UUID
    doctor_name: str
    stars: int
    comment: str
    created_at: datetime


def _patient_id(session, actor: Actor) -> uuid.UUID:
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Only the patient of a consultation can rate it."))
    patient_id = session.scalar(select(Patient.id).where(Patient.user_id == actor.user_id))
    if patient_id is None:
        raise Forbidden(N_("This account has no patient profile."))
    return patient_id


def rate_consultation(actor: Actor, appointment_id: uuid.UUID, stars: int, comment: str | None = None) -> Given:
    """Rate a completed consultation once, within 30 days (SPEC §18). The comment is published only
    after an admin approves it."""
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise ValidationFailed(N_("Choose 1 to 5 stars."), details={"field": "stars"})
    comment = clean_comment(comment)
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValidationFailed(N_("The comment is too long (at most %(count)d characters)."),
                               params={"count": MAX_COMMENT},
                               details={"field": "comment"})
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        patient_id = _patient_id(s, actor)
        appointment = s.scalar(select(Appointment).where(Appointment.id == appointment_id,
                                                         Appointment.patient_id == patient_id).with_for_update())
        if appointment is None:
            raise NotFound(N_("No such consultation among yours."))
        already = s.scalar(select(Rating.id).where(Rating.appointment_id == appointment_id)) is not None
        refusal = rating_refusal(status=appointment.status, completed_at=appointment.completed_at, now=now,
                                 already_rated=already)
        if refusal:
            raise (InvalidTransition if already or appointment.status != "completed" else TimeWindow)(refusal)
        rating = Rating(appointment_id=appointment.id, patient_id=patient_id, doctor_id=appointment.doctor_id,
                        stars=stars, comment=comment, comment_status="pending" if comment else "none",
                        created_at=now)
        s.add(rating)
        try:
            s.flush()
        except IntegrityError:  # a second tab rated it a moment ago
            raise InvalidTransition(N_("You have already rated this consultation.")) from None
        record_audit(s, actor, action="rating.given", subject_type="appointment", subject_id=str(appointment.id),
                     at=now, details={"stars": stars, "comment": bool(comment)})
        return Given(rating.id, stars, rating.comment_status)


def rating_prompts(actor: Actor) -> list[RatingPrompt]:
    """The patient's completed consultations still open for a rating (the dashboard prompt)."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        patient_id = _patient_id(uow.session, actor)
        rows = uow.session.execute(
            select(Appointment.id, Doctor.display_name, Appointment.start_at, Appointment.completed_at)
            .join(Doctor, Doctor.id == Appointment.doctor_id)
            .outerjoin(Rating, Rating.appointment_id == Appointment.id)
            .where(Appointment.patient_id == patient_id, Appointment.status == "completed", Rating.id.is_(None),
                   Appointment.completed_at >= now - RATING_WINDOW)
            .order_by(Appointment.completed_at.desc())).all()
    return [RatingPrompt(a, name, start, done + RATING_WINDOW) for a, name, start, done in rows]


def invite_to_rate(uow: UnitOfWork, appointment: Appointment) -> None:
    """In the completion's transaction: one email asking the patient for a rating (SPEC §18)."""
    s = uow.session
    with acting_as_system(uow):
        row = s.execute(select(User.email, User.full_name, User.locale, User.is_active, Doctor.display_name)
                        .join(Patient, Patient.user_id == User.id).join(Doctor, Doctor.id == appointment.doctor_id)
                        .where(Patient.id == appointment.patient_id)).one_or_none()
        if row is None or not row.is_active:
            return
        base = config.current().public_base_url
        message = render("rate_consultation", language_of(row.locale), doctor_name=row.display_name,
                         patient_name=row.full_name, rate_url=f"{base}/dashboard#rate")
        queue_once(uow, Outgoing("email", row.email, message.text, subject=message.subject, html=message.html),
                   f"rate:{appointment.id}:patient:email")


def doctor_reviews(doctor_id: uuid.UUID, *, limit: int = 10) -> list[Review]:
    """Approved comments on a doctor, newest first, with the reviewer's first name and initial."""
    with unit_of_work(ANONYMOUS) as uow:
        rows = uow.session.execute(text("SELECT * FROM approved_reviews(:d, :n)"), {"d": doctor_id, "n": limit}).all()
    return [Review(r.id, r.stars, r.comment, r.created_at, r.reviewer) for r in rows]


def _admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(N_("Only admins moderate reviews."))


def moderation_queue(actor: Actor, *, limit: int = 50) -> list[PendingReview]:
    """Comments waiting for an admin's decision, oldest first (SPEC §22 console action)."""
    _admin(actor)
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(Rating.id, Doctor.display_name, Rating.stars, Rating.comment, Rating.created_at)
            .join(Doctor, Doctor.id == Rating.doctor_id).where(Rating.comment_status == "pending")
            .order_by(Rating.created_at, Rating.id).limit(limit)).all()
    return [PendingReview(*r) for r in rows]


def moderate_review(actor: Actor, rating_id: uuid.UUID, *, approve: bool, reason: str | None) -> str:
    """Approve (publish) or hide a review's comment, with a required reason, audited (SPEC §18, §22).
    Returns the new status."""
    _admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(N_("Give a reason for the decision."), details={"field": "reason"})
    if len(reason) > 500:
        raise ValidationFailed(N_("The reason is too long (at most 500 characters)."), details={"field": "reason"})
    now = clock.now()
    status = "approved" if approve else "hidden"
    with unit_of_work(actor) as uow:
        rating = uow.session.scalar(select(Rating).where(Rating.id == rating_id).with_for_update())
        if rating is None or rating.comment is None:
            raise NotFound(N_("No such review."))
        rating.comment_status, rating.moderated_at, rating.moderated_by = status, now, actor.user_id
        record_audit(uow.session, actor, action=f"review.{status}", subject_type="rating", subject_id=str(rating.id),
                     at=now, details={"reason": reason, "doctorId": str(rating.doctor_id)})
    return status
