"""Housekeeping tasks."""

from core.accounts.reset_tokens import purge_expired_reset_tokens


def purge_reset_tokens() -> int:
    return purge_expired_reset_tokens()
