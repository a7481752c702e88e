"""The public doctor directory (SPEC §7, §12 `GET /api/doctors`): cards, search and profiles."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import any_, func, select

from core import clock
from core.actor import Actor
from core.db import unit_of_work
from core.errors import NotFound, ValidationFailed
from core.i18n import N_
from core.models import Doctor, DoctorPhoto, rating_stats
from core.scheduling import weekly
from core.scheduling.calendars import load_calendars

PAGE_SIZE = 12
MAX_QUERY = 100


@dataclass(frozen=True)
class DoctorSummary:
    id: uuid.UUID
    number: int
    name: str
    specialty: str
    languages: list[str]
    rating: Decimal | None
    rating_count: int
    online: bool
    timezone: str

    @property
    def rpps(self) -> str:
        """RPPS shown on profiles: 10003{number}789 with the doctor's short public number."""
        return f"10003{self.number}789"


@dataclass(frozen=True)
class DoctorProfile(DoctorSummary):
    bio: str = ""
    education: list[str] = field(default_factory=list)
    expertise: list[str] = field(default_factory=list)
    philosophy: str = ""
    faqs: list[dict] = field(default_factory=list)
    price_cents: int = 3500
    registered_rpps: str | None = None  # the real RPPS entered at onboarding (SPEC §19)
    hours: list[tuple[str, str]] = field(default_factory=list)  # weekly hours, one line per weekday
    has_photo: bool = False

    @property
    def rpps(self) -> str:
        return self.registered_rpps or super().rpps


def _with_ratings(query):
    """Add the rating computed from the real rows (SPEC §18): mean, count and Bayesian average."""
    return (query.add_columns(rating_stats.c.rating_avg, rating_stats.c.rating_count)
            .outerjoin(rating_stats, rating_stats.c.doctor_id == Doctor.id))


def _summary(row) -> DoctorSummary:
    d, avg, count = row
    return DoctorSummary(d.id, d.number, d.display_name, d.specialty, list(d.languages),
                         avg, count or 0, d.online, d.timezone)


# Only approved doctors are listed or shown (SPEC §19): pending and suspended ones are hidden.
LISTED = Doctor.status == "approved"


def list_doctors(actor: Actor, *, limit: int | None = None) -> list[DoctorSummary]:
    """Doctors by their public number; `limit` for the fixed grids (home, Book new)."""
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(_with_ratings(select(Doctor)).where(LISTED).order_by(Doctor.number)
                                   .limit(limit)).all()
        return [_summary(r) for r in rows]


def get_doctor(actor: Actor, doctor_id: uuid.UUID) -> DoctorProfile:
    with unit_of_work(actor) as uow:
        row = uow.session.execute(_with_ratings(select(Doctor)).where(Doctor.id == doctor_id, LISTED)
                                  ).one_or_none()
        if row is None:
            raise NotFound(N_("No such doctor."))
        d, avg, count = row
        has_photo = uow.session.get(DoctorPhoto, d.id) is not None
        faqs = [f for f in (d.faqs or []) if isinstance(f, dict) and f.get("q") and f.get("a")]
        return DoctorProfile(d.id, d.number, d.display_name, d.specialty, list(d.languages), avg,
                             count or 0, d.online, d.timezone, bio=d.bio, education=list(d.education),
                             expertise=list(d.expertise), philosophy=d.philosophy, faqs=faqs,
                             price_cents=d.price_cents, registered_rpps=d.rpps,
                             hours=weekly.describe(weekly.week_of(d.weekly_hours)), has_photo=has_photo)


@dataclass(frozen=True)
class SearchFilters:
    name: str = ""
    specialty: str = ""
    language: str = ""
    day: date | None = None  # available on this day, in the viewer's zone

    def __post_init__(self) -> None:
        if len(self.name) > MAX_QUERY or len(self.specialty) > MAX_QUERY or len(self.language) > 8:
            raise ValidationFailed(N_("Search terms are too long."))


@dataclass(frozen=True)
class SearchPage:
    doctors: list[DoctorSummary]
    total: int
    page: int
    pages: int
    specialties: list[str]
    languages: list[str]


def _day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, zone)


def search_doctors(actor: Actor, filters: SearchFilters, *, page: int = 1, zone: ZoneInfo,
                   page_size: int = PAGE_SIZE) -> SearchPage:
    """Doctors by name (any part, any case), specialty, language and a day with a free time,
    ordered by rating — the Bayesian average of the real ratings (SPEC §18), so three 5★ do not
    outrank two hundred 4.9★; on a tie (everyone's ratings 5★) more ratings first, so one 5★ never
    outranks 103 (issue 24). Filters narrow in SQL; the day filter asks the slot engine, in one batch."""
    query = _with_ratings(select(Doctor)).where(LISTED)
    if filters.name.strip():
        query = query.where(Doctor.display_name.ilike(f"%{_escape_like(filters.name.strip())}%", escape="\\"))
    if filters.specialty:
        query = query.where(Doctor.specialty == filters.specialty)
    if filters.language:
        query = query.where(any_(Doctor.languages) == filters.language.lower())  # :lang = ANY (languages)
    query = query.order_by(rating_stats.c.rating_bayes.desc().nulls_last(),
                           rating_stats.c.rating_count.desc().nulls_last(), Doctor.number)
    with unit_of_work(actor) as uow:
        session = uow.session
        rows = [_summary(r) for r in session.execute(query)]
        if filters.day is not None:
            now = clock.now()
            start, end = _day_window(filters.day, zone)
            start = max(start, now)
            calendars = load_calendars(session, [d.id for d in rows], start, end, now) if end > start else {}
            free = {i for i, c in calendars.items()
                    if any(a.is_available for a in c.availability(start, end, now, actor.user_id))}
            rows = [d for d in rows if d.id in free]
        specialties = list(session.scalars(select(Doctor.specialty).where(LISTED).distinct()
                                           .order_by(Doctor.specialty)))
        languages = sorted(session.scalars(select(func.unnest(Doctor.languages)).where(LISTED).distinct()))
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * page_size: page * page_size]
    return SearchPage(shown, len(rows), page, pages, specialties, languages)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
