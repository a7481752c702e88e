"""What erasing an account (GDPR art. 17, `core.accounts.erasure`) removes of the privacy tables."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.models import DataExport, EmailVerificationToken


def forget_privacy_artefacts(session: Session, user_id: uuid.UUID) -> None:
    """In the erasure's transaction, as the system: a built export (a full copy of the person's
    data) and email-verification links are deleted. Consent rows stay, as proof, without a person."""
    session.execute(delete(DataExport).where(DataExport.user_id == user_id))
    session.execute(delete(EmailVerificationToken).where(EmailVerificationToken.user_id == user_id))
