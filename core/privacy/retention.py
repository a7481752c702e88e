"""Retention (SPEC §21): what we delete, and when. One nightly job, idempotent — running it twice,
or late, does what one run on time would have done.

- Signalling data of the video room lives in Redis with a TTL (the end of the window + 1 h) and
  expires by itself; nothing to do here.
- Device tests (`video_tests`): deleted once 90 days old.
- Unverified accounts with nothing we must keep — a patient who never confirmed their email and
  has no appointment, payment, plan or credit — get a warning email once 23 days old (once: an
  idempotency key), and are deleted once 30 days old. Deleting removes the account and what
  cascades from it; the delivery log's copies of emails to them are blanked, and one audit row
  keeps the fact without the person.
- Data-export archives are emptied after their 24 hours; used or expired email links are purged.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select, update

from core import clock, config
from core.accounts.erasure import UNUSABLE_PASSWORD
from core.accounts.settings import ERASED_DOMAIN
from core.actor import SYSTEM
from core.audit import record_audit
from core.db import unit_of_work
from core.models import (
    Appointment,
    AuditEvent,
    Consent,
    CreditEntry,
    Message,
    OutboxMessage,
    Patient,
    Payment,
    Subscription,
    User,
    VideoTest,
)
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import language_of, render
from core.privacy import export, verification

VIDEO_TEST_TTL = timedelta(days=90)
UNVERIFIED_WARNING_AT = timedelta(days=23)
UNVERIFIED_DELETION_AT = timedelta(days=30)
ERASED_TEXT = "[erased]"


def run_retention(now: datetime | None = None) -> dict[str, int]:
    """The nightly run (SPEC §21); returns what each step did, for the job's log."""
    now = now or clock.now()
    return {
        "videoTestsDeleted": delete_old_video_tests(now),
        "unverifiedWarned": warn_unverified_accounts(now),
        "unverifiedDeleted": delete_unverified_accounts(now),
        "exportsExpired": export.expire_exports(now),
        "verificationLinksPurged": verification.purge_tokens(now),
    }


def delete_old_video_tests(now: datetime) -> int:
    """Device tests once 90 days old."""
    with unit_of_work(SYSTEM) as uow:
        done = uow.session.execute(delete(VideoTest).where(VideoTest.created_at <= now - VIDEO_TEST_TTL))
        return done.rowcount or 0


def _unverified_without_bookings(older_than: datetime):
    """Patients who never confirmed their email, created at or before `older_than`, with no
    appointment, payment, plan or credit entry (nothing the law or accounting makes us keep)."""
    return select(User.id, User.email, User.full_name, User.created_at, User.locale).where(
        User.role == "patient", User.email_verified_at.is_(None), User.created_at <= older_than,
        ~User.email.endswith("@" + ERASED_DOMAIN),
        ~exists().where(Appointment.patient_id == Patient.id, Patient.user_id == User.id),
        ~exists().where(Payment.user_id == User.id),
        ~exists().where(Subscription.user_id == User.id),
        ~exists().where(CreditEntry.user_id == User.id),
    )


def warn_unverified_accounts(now: datetime) -> int:
    """The warning, once per account, from 23 days (up to the day it is deleted)."""
    queued = 0
    base = config.current().public_base_url
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.execute(_unverified_without_bookings(now - UNVERIFIED_WARNING_AT).where(
            User.is_active, User.created_at > now - UNVERIFIED_DELETION_AT)).all()
        for user_id, email, name, created_at, locale in rows:
            days_left = max(1, (created_at + UNVERIFIED_DELETION_AT - now).days)
            rendered = render("unverified_warning", language_of(locale), person_name=name, days_left=days_left,
                              login_url=f"{base}/login")
            message = Outgoing(channel="email", recipient=email, subject=rendered.subject, text=rendered.text,
                               html=rendered.html)
            if queue_once(uow, message, f"retention-warning:{user_id}", now=now):
                queued += 1
    return queued


def delete_unverified_accounts(now: datetime) -> int:
    """Accounts that stayed unverified and unbooked for 30 days."""
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        rows = s.execute(_unverified_without_bookings(now - UNVERIFIED_DELETION_AT).with_for_update(of=User)).all()
        for user_id, email, _name, _created, _locale in rows:
            _delete_account(uow, user_id, email, now)
        return len(rows)


def _delete_account(uow, user_id: uuid.UUID, email: str, now: datetime) -> None:
    s = uow.session
    placeholder = f"deleted-{uuid.uuid4()}@{ERASED_DOMAIN}"
    s.execute(update(OutboxMessage).where(func.lower(OutboxMessage.recipient) == email.lower())
              .values(recipient=placeholder, subject=ERASED_TEXT, body_text=ERASED_TEXT, body_html=None,
                      attachments=[]))
    if s.scalar(select(exists().where(AuditEvent.actor_id == user_id))):
        # The audit trail is append-only, so it cannot lose its actor: the account is emptied and
        # switched off instead (as `core.accounts.erasure` does), which is what deleting means here.
        s.execute(update(User).where(User.id == user_id).values(
            email=placeholder, full_name="", password_hash=UNUSABLE_PASSWORD, is_active=False,
            session_version=User.session_version + 1, timezone=None, email_reminders=False, sms_reminders=False))
        s.execute(update(Patient).where(Patient.user_id == user_id).values(
            date_of_birth=None, gender=None, primary_conditions=[], allergies=[], phone=None, onboarded_at=None))
        s.execute(delete(Consent).where(Consent.user_id == user_id))
        s.execute(delete(VideoTest).where(VideoTest.user_id == user_id))
        s.execute(delete(Message).where((Message.sender_id == user_id) | (Message.recipient_id == user_id)))
    else:
        s.execute(delete(User).where(User.id == user_id))  # patients, consents, tokens, tests cascade
    record_audit(s, SYSTEM, action="account.deleted_unverified", subject_type="user", subject_id=str(user_id),
                 at=now, details={"reason": "unverified for 30 days"})
