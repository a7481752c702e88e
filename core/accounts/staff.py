"""Operators create staff accounts (SPEC §19 `doktu users create-admin`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.accounts.authentication import AuthenticatedUser
from core.accounts.passwords import hash_password
from core.accounts.policy import check_password
from core.accounts.signup import normalise_email
from core.actor import SYSTEM
from core.audit import record_audit
from core.db import unit_of_work
from core.errors import DuplicateEmail, ValidationFailed
from core.models import User


def create_admin(email: str, password: str, full_name: str = "") -> AuthenticatedUser:
    """A new admin account (the usual password policy; an existing email → ERR_DUP_EMAIL). Audited."""
    email = normalise_email(email)
    name = full_name.strip()[:200] or email.split("@")[0]
    policy = check_password(password, user_inputs=(email, name))
    if not policy.ok:
        raise ValidationFailed(parts=policy.parts)
    try:
        with unit_of_work(SYSTEM) as uow:
            s = uow.session
            if s.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email)):
                raise DuplicateEmail()
            user = User(email=email, role="admin", full_name=name, password_hash=hash_password(password))
            s.add(user)
            s.flush()
            record_audit(s, SYSTEM, action="admin.created", subject_type="user", subject_id=str(user.id),
                         at=clock.now(), details={"via": "cli"})
            return AuthenticatedUser.from_row(user)
    except IntegrityError as exc:
        raise DuplicateEmail() from exc
