"""Password hashing with bcrypt at cost 12 (SPEC §6)."""

from __future__ import annotations

import bcrypt

BCRYPT_COST = 12
BCRYPT_MAX_BYTES = 72  # bcrypt ignores the rest; we refuse rather than silently truncate


def hash_password(password: str, *, cost: int = BCRYPT_COST) -> str:
    raw = password.encode()
    if len(raw) > BCRYPT_MAX_BYTES:
        raise ValueError("password longer than 72 bytes")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds=cost)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    raw = password.encode()
    if len(raw) > BCRYPT_MAX_BYTES:
        return False
    try:
        return bcrypt.checkpw(raw, password_hash.encode())
    except ValueError:  # a malformed stored hash never signs anyone in
        return False


# Verified against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = hash_password("not-a-real-password-just-timing")


def burn_time(password: str) -> None:
    verify_password(password, _DUMMY_HASH)
