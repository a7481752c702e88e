"""Consents (SPEC §21; GDPR art. 7): acceptance of the terms of use and the privacy notice, with
their versions and the time, and the separate marketing consent.

- Accounts that existed before consents were recorded accepted the terms by creating their account
  (what the terms said then): migration 0009 records that as the previous version, 2026-11-20, so
  they are asked for the current one at their next sign-in.
- Sign-up needs an explicit acceptance (an unticked checkbox; `acceptTerms: true` in the API):
  one `consents` row per document at its current version, in the sign-up transaction.
- The version of each document is the `date:` of its Markdown (`content/legal/terms.md`,
  `privacy.md`); the constants below must match them (a test compares). Publishing a new version
  means changing both: every user is then asked again at their next sign-in, before anything else.
- Marketing emails: off unless the user switches them on in Settings; switching off keeps the
  row with `withdrawn_at` as proof of what was given when.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.actor import ROLES, Actor
from core.db import unit_of_work
from core.errors import Forbidden, ValidationFailed
from core.i18n import N_
from core.models import Consent

TERMS_VERSION = "2026-12-03"
PRIVACY_VERSION = "2026-12-03"
REQUIRED = {"terms": TERMS_VERSION, "privacy": PRIVACY_VERSION}
MARKETING_VERSION = "1"  # the wording of the marketing checkbox


@dataclass(frozen=True)
class ConsentState:
    outdated: tuple[str, ...]  # required documents not accepted at their current version
    marketing: bool


def require_acceptance(accepted: bool) -> None:
    """Sign-up without ticking the box is refused (ERR_VALIDATION on the field `acceptTerms`)."""
    if accepted is not True:
        raise ValidationFailed(N_("Please accept the terms of use and the privacy notice to create an account."),
                               details={"fields": [{"field": "acceptTerms", "message": "required"}]})


def record_acceptance(session: Session, user_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """In the caller's transaction: the current terms and privacy notice, accepted now."""
    now = now or clock.now()
    for kind, version in REQUIRED.items():
        exists = session.scalar(select(Consent.id).where(Consent.user_id == user_id, Consent.kind == kind,
                                                         Consent.version == version, Consent.withdrawn_at.is_(None)))
        if exists is None:
            session.add(Consent(user_id=user_id, kind=kind, version=version, accepted_at=now))
    session.flush()


def outdated_for(session: Session, user_id: uuid.UUID) -> tuple[str, ...]:
    """Which required documents this user accepted in an earlier version but not in the current one
    ("a new version asks again"). Accounts with no acceptance on record at all were made by staff
    (admins, invited doctors: their own onboarding covers the terms) and are not asked here."""
    accepted = set(session.execute(select(Consent.kind, Consent.version).where(
        Consent.user_id == user_id, Consent.withdrawn_at.is_(None), Consent.kind.in_(REQUIRED))).all())
    kinds = {kind for kind, _ in accepted}
    return tuple(kind for kind, version in REQUIRED.items() if kind in kinds and (kind, version) not in accepted)


def consent_state(actor: Actor) -> ConsentState:
    """What the user has agreed to (SPEC §21): outdated documents (asked again at sign-in), marketing."""
    _require_user(actor)
    with unit_of_work(actor) as uow:
        marketing = uow.session.scalar(select(Consent.id).where(
            Consent.user_id == actor.user_id, Consent.kind == "marketing", Consent.withdrawn_at.is_(None)).limit(1))
        return ConsentState(outdated_for(uow.session, actor.user_id), marketing is not None)


def accept_current(actor: Actor, *, accepted: bool) -> None:
    """The interstitial after sign-in: accept the new versions (a checkbox again, never pre-ticked)."""
    _require_user(actor)
    require_acceptance(accepted)
    with unit_of_work(actor) as uow:
        record_acceptance(uow.session, actor.user_id)


def set_marketing(actor: Actor, wanted: bool) -> bool:
    """Marketing emails on or off (SPEC §21: separate from the terms, off by default)."""
    _require_user(actor)
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        live = s.scalar(select(Consent).where(Consent.user_id == actor.user_id, Consent.kind == "marketing",
                                              Consent.withdrawn_at.is_(None)).with_for_update())
        if wanted and live is None:
            s.add(Consent(user_id=actor.user_id, kind="marketing", version=MARKETING_VERSION, accepted_at=now))
        elif not wanted and live is not None:
            s.execute(update(Consent).where(Consent.id == live.id).values(withdrawn_at=now))
    return wanted


def _require_user(actor: Actor) -> None:
    if actor.role not in ROLES or actor.user_id is None:
        raise Forbidden(N_("Sign in first."))
