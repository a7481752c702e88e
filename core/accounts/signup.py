"""Sign-up (SPEC §6): a new account is a patient; emails are unique whatever their case."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, null, select
from sqlalchemy.exc import IntegrityError

from core import i18n
from core.accounts.authentication import AuthenticatedUser
from core.accounts.passwords import hash_password
from core.accounts.policy import check_password
from core.actor import SYSTEM
from core.db import unit_of_work
from core.errors import DuplicateEmail, ValidationFailed
from core.i18n import N_
from core.models import FunnelEvent, Patient, User
from core.privacy import consents, verification


def normalise_email(raw: str) -> str:
    """Valid syntax, then the canonical form sign-in looks up (`canonical_email`: NFKC, IDNA domain,
    lower case), so a fullwidth spelling of an existing address is the same account."""
    try:
        return validate_email(unicodedata.normalize("NFKC", raw).strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(N_("Enter a valid email address (%(reason)s)."), params={"reason": str(exc)},
                               details={"fields": [{"field": "email", "message": str(exc)}]}) from exc


def sign_up(email: str, password: str, full_name: str = "", *, visitor_id: str | None = None,
            accept_terms: bool = False, language: str | None = None) -> AuthenticatedUser:
    email = normalise_email(email)
    policy = check_password(password, user_inputs=(email, email.split("@")[0], full_name))
    if not policy.ok:
        raise ValidationFailed(parts=policy.parts,
                               details={"fields": [{"field": "password", "message": p} for p in policy.problems]})
    consents.require_acceptance(accept_terms)  # SPEC §21: an explicit, unticked checkbox
    name = full_name.strip()[:200] or email.split("@")[0]
    password_hash = hash_password(password)
    try:
        with unit_of_work(SYSTEM) as uow:
            s = uow.session
            if s.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email)):
                raise DuplicateEmail()
            user = User(email=email, role="patient", full_name=name, password_hash=password_hash,
                        email_verified_at=null(),  # until the emailed link is used (SPEC §21)
                        locale=i18n.language_of(language) if language else None)  # SPEC §20: the language in use
            s.add(user)
            s.flush()
            s.add(Patient(user_id=user.id))
            s.add(FunnelEvent(step="signed_up", user_id=user.id, visitor_id=visitor_id))
            consents.record_acceptance(s, user.id)  # SPEC §21: versions and time, with the account
            verification.queue_link(uow, user.id, email)  # SPEC §21: confirm the address
            s.flush()
            return AuthenticatedUser.from_row(user)
    except IntegrityError as exc:  # two sign-ups with one email at the same moment
        raise DuplicateEmail() from exc
