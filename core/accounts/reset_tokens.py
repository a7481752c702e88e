"""Forgotten passwords (SPEC §6): a single-use magic link, valid 60 minutes, stored only hashed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from core import clock
from core.accounts.authentication import AuthenticatedUser, canonical_email
from core.accounts.passwords import hash_password
from core.accounts.policy import check_password
from core.actor import SYSTEM
from core.db import unit_of_work
from core.errors import LinkExpired, ValidationFailed
from core.models import PasswordResetToken, User
from core.notify.email import Email, queue_email
from core.notify.rendering import language_of, render

LINK_LIFETIME = timedelta(minutes=60)
KEEP_USED_FOR = timedelta(days=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(email: str, *, base_url: str) -> None:
    """Email a reset link if the account exists. The caller answers the same either way, and
    both paths make a token and a hash, so timing does not tell either."""
    token = secrets.token_urlsafe(32)
    digest = _digest(token)
    with unit_of_work(SYSTEM) as uow:
        user = uow.session.scalar(select(User).where(func.lower(User.email) == canonical_email(email),
                                                     User.is_active))
        if user is None:
            return
        uow.session.add(PasswordResetToken(user_id=user.id, token_hash=digest,
                                           expires_at=clock.now() + LINK_LIFETIME))
        link = f"{base_url}/reset/{token}"
        message = render("password_reset", language_of(user.locale), person_name=user.full_name, link=link)
        queue_email(uow, Email(to=user.email, subject=message.subject, text=message.text, html=message.html))


def check_reset_token(token: str) -> None:
    """Raise LinkExpired unless the link is unused and within its 60 minutes."""
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(token)))
        if row is None or row.used_at is not None or row.expires_at <= clock.now():
            raise LinkExpired()


def reset_password(token: str, new_password: str) -> AuthenticatedUser:
    """Use the link once: set the new password (policy applies) and sign out every session."""
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        row = s.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(token))
                       .with_for_update())
        if row is None or row.used_at is not None or row.expires_at <= clock.now():
            raise LinkExpired()
        user = s.get(User, row.user_id)
        policy = check_password(new_password, user_inputs=(user.email, user.full_name))
        if not policy.ok:
            raise ValidationFailed(parts=policy.parts)
        s.execute(update(PasswordResetToken).where(PasswordResetToken.id == row.id).values(used_at=clock.now()))
        s.execute(update(User).where(User.id == user.id).values(
            password_hash=hash_password(new_password), session_version=User.session_version + 1))
        s.refresh(user)
        return AuthenticatedUser.from_row(user)


def purge_expired_reset_tokens() -> int:
    """Delete tokens that expired, and used ones after a day: nothing to steal, nothing to keep."""
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        result = uow.session.execute(
            delete(PasswordResetToken).where(or_(
                PasswordResetToken.expires_at < now,
                PasswordResetToken.used_at < now - KEEP_USED_FOR,
            ))
        )
        return result.rowcount or 0
