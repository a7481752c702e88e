"""The patient's health profile and onboarding (SPEC §6): date of birth, gender, primary
conditions and allergies, required before the first payment. Personal data under RLS: the
patient edits their own row as themselves, never as the system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from core import clock
from core.actor import Actor
from core.db import unit_of_work
from core.errors import Forbidden, ProfileIncomplete, ValidationFailed
from core.i18n import N_
from core.models import Patient

GENDERS = {"female": N_("Female"), "male": N_("Male"), "non_binary": N_("Non-binary"),
           "undisclosed": N_("Prefer not to say")}
MAX_ITEMS, MAX_ITEM_LENGTH = 20, 100
OLDEST_YEAR = 1900


@dataclass(frozen=True)
class HealthProfile:
    date_of_birth: date | None
    gender: str | None
    primary_conditions: list[str]
    allergies: list[str]
    completed: bool

    @property
    def progress(self) -> int:
        """Percent of the four steps answered (the lists count once the profile was saved)."""
        answered = [self.date_of_birth is not None, self.gender is not None, self.completed, self.completed]
        return 25 * sum(answered)


def _own_patient(session, actor: Actor) -> Patient:
    if actor.role != "patient":
        raise Forbidden(N_("Only patients have a health profile."))
    patient = session.scalar(select(Patient).where(Patient.user_id == actor.user_id))
    if patient is None:
        raise Forbidden(N_("This account has no patient profile."))
    return patient


def _view(p: Patient) -> HealthProfile:
    return HealthProfile(p.date_of_birth, p.gender, list(p.primary_conditions), list(p.allergies),
                         p.onboarded_at is not None)


def clean_items(items: list[str], label: str) -> list[str]:
    cleaned, seen = [], set()
    for item in items:
        text = " ".join(item.split())
        if not text or text.lower() in seen:
            continue
        if len(text) > MAX_ITEM_LENGTH:
            raise ValidationFailed(N_("Each %(label)s can be at most %(count)d characters."),
                                   params={"label": label, "count": MAX_ITEM_LENGTH})
        seen.add(text.lower())
        cleaned.append(text)
    if len(cleaned) > MAX_ITEMS:
        raise ValidationFailed(N_("List at most %(count)d %(label)ss."), params={"count": MAX_ITEMS, "label": label})
    return cleaned


def get_profile(actor: Actor) -> HealthProfile:
    with unit_of_work(actor) as uow:
        return _view(_own_patient(uow.session, actor))


def save_profile(actor: Actor, *, date_of_birth: date, gender: str, primary_conditions: list[str],
                 allergies: list[str]) -> HealthProfile:
    """Validate and save; the first complete save finishes onboarding."""
    today = clock.now().date()
    if not (date(OLDEST_YEAR, 1, 1) <= date_of_birth <= today):
        raise ValidationFailed(N_("Enter a real date of birth, not in the future."))
    if gender not in GENDERS:
        raise ValidationFailed(N_("Choose one of the gender options."))
    conditions = clean_items(primary_conditions, N_("condition"))
    allergy_list = clean_items(allergies, N_("allergy"))
    with unit_of_work(actor) as uow:
        patient = _own_patient(uow.session, actor)
        patient.date_of_birth, patient.gender = date_of_birth, gender
        patient.primary_conditions, patient.allergies = conditions, allergy_list
        if patient.onboarded_at is None:
            patient.onboarded_at = clock.now()
        uow.session.flush()
        return _view(patient)


def require_complete_profile(actor: Actor) -> None:
    """The gate before the first payment (SPEC §6): ERR_PROFILE_INCOMPLETE until onboarded."""
    if not get_profile(actor).completed:
        raise ProfileIncomplete()
