"""Email verification (SPEC §21): a link is sent at sign-up; booking is not blocked, but
reminders and documents wait for a verified address, and the dashboard says so.

- The link is a random token stored only as its sha256, single use, valid 48 hours, and bound to
  the address it was sent to: after an email change, an old link verifies nothing.
- Changing the email resets `users.email_verified_at` (a trigger, migration 0009) and sends a new
  link to the new address.
- `may_email(verified_at)` is the one predicate every optional email (reminders, documents) asks.
- Resending is allowed once a minute (a link already on its way is enough).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from core import clock, config
from core.actor import ROLES, SYSTEM, Actor
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import Forbidden, LinkExpired
from core.i18n import N_
from core.models import EmailVerificationToken, User
from core.notify.email import Email, queue_email
from core.notify.rendering import language_of, render

LINK_LIFETIME = timedelta(hours=48)
RESEND_AFTER = timedelta(minutes=1)
KEEP_USED_FOR = timedelta(days=1)


def may_email(email_verified_at: datetime | None) -> bool:
    """Reminders and documents go only to a verified address (SPEC §21). Transactional answers to
    what the user just did (booking confirmation, security notices, links) do not ask this."""
    return email_verified_at is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def queue_link(uow: UnitOfWork, user_id: uuid.UUID, email: str, *, now: datetime | None = None) -> None:
    """In the caller's transaction (run as the system): a new link to `email`, sent after the commit."""
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    uow.session.add(EmailVerificationToken(user_id=user_id, email=email, token_hash=_digest(token),
                                           expires_at=now + LINK_LIFETIME, created_at=now))
    uow.session.flush()
    link = f"{config.current().public_base_url}/verify-email/{token}"
    locale = uow.session.scalar(select(User.locale).where(User.id == user_id))
    message = render("verify_email", language_of(locale), link=link)  # SPEC §20: in the user's language
    queue_email(uow, Email(to=email, subject=message.subject, text=message.text, html=message.html))


def is_verified(actor: Actor) -> bool:
    """For the dashboard's banner."""
    if actor.role not in ROLES or actor.user_id is None:
        return False
    with unit_of_work(actor) as uow:
        return uow.session.scalar(select(User.email_verified_at).where(User.id == actor.user_id)) is not None


def resend_link(actor: Actor) -> bool:
    """Send a new link (the dashboard's button). False when already verified, or when a link went
    out less than a minute ago (the previous one still works)."""
    if actor.role not in ROLES or actor.user_id is None:
        raise Forbidden(N_("Sign in first."))
    now = clock.now()
    with unit_of_work(actor) as uow:
        user = uow.session.scalar(select(User).where(User.id == actor.user_id).with_for_update())
        if user is None or user.email_verified_at is not None:
            return False
        with acting_as_system(uow):
            last = uow.session.scalar(select(func.max(EmailVerificationToken.created_at)).where(
                EmailVerificationToken.user_id == actor.user_id))
            if last is not None and last > now - RESEND_AFTER:
                return False
            queue_link(uow, user.id, user.email, now=now)
    return True


def verify_email(token: str) -> uuid.UUID:
    """Use a link: the account's current address becomes verified. ERR_LINK_EXPIRED (410) when the
    link is unknown, used, older than 48 hours, or for an address the account no longer has."""
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        row = s.scalar(select(EmailVerificationToken).where(EmailVerificationToken.token_hash == _digest(token or ""))
                       .with_for_update())
        user = s.get(User, row.user_id) if row is not None else None
        if (row is None or row.used_at is not None or row.expires_at <= now or user is None or not user.is_active
                or user.email.lower() != row.email.lower()):
            raise LinkExpired(N_("This confirmation link has expired or was already used. Sign in and ask for a "
                                 "new one."))
        row.used_at = now
        if user.email_verified_at is None:
            s.execute(update(User).where(User.id == user.id).values(email_verified_at=now))
        return user.id


def purge_tokens(now: datetime | None = None) -> int:
    """Retention: expired links, and used ones after a day."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        done = uow.session.execute(delete(EmailVerificationToken).where(or_(
            EmailVerificationToken.expires_at < now, EmailVerificationToken.used_at < now - KEEP_USED_FOR)))
        return done.rowcount or 0
