"""Password-reset tokens: only their hash is stored; expired ones are purged (SPEC §6)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import PasswordResetToken

KEEP_USED_FOR = timedelta(days=1)


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
