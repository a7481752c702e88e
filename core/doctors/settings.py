"""A doctor's own settings (SPEC §3, §7, §9 doctor portal "Settings"; issue 8): the time zone their
calendar and working hours are in, and the texts of their public profile.

Slots are stored as UTC instants, so changing the time zone moves no booking or slot; it changes
how the calendar shows them and which local days the default template (10:00–21:00) fills.
Weekly hours (SPEC §19) replace that default for the doctor on every day without explicit slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, null, update

from core import clock, timezones
from core.actor import Actor
from core.audit import record_audit
from core.db import unit_of_work
from core.errors import ValidationFailed
from core.i18n import N_
from core.models import Doctor, ExternalBusy
from core.scheduling import weekly
from core.scheduling.doctor_slots import own_doctor

MAX_BIO = 2000
MAX_PHILOSOPHY = 1000


@dataclass(frozen=True)
class DoctorSettings:
    timezone: str
    bio: str
    philosophy: str


def get_settings(actor: Actor) -> DoctorSettings:
    with unit_of_work(actor) as uow:
        d = own_doctor(uow.session, actor)
        return DoctorSettings(d.timezone, d.bio, d.philosophy)


def _clean_text(value: str | None, limit: int, label: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise ValidationFailed(N_("The %(field)s can be at most %(limit)d characters."),
                               params={"field": label, "limit": limit})
    return text


def update_settings(actor: Actor, *, timezone: str, bio: str | None, philosophy: str | None) -> DoctorSettings:
    """Save the time zone and profile texts (the doctor's own row only; audited)."""
    if not timezones.is_selectable(timezone):
        raise ValidationFailed(N_("Choose a time zone from the list, e.g. Europe/Paris."))
    ZoneInfo(timezone)  # present in this system's zone data
    bio = _clean_text(bio, MAX_BIO, N_("about text"))
    philosophy = _clean_text(philosophy, MAX_PHILOSOPHY, N_("care philosophy"))
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        changed = [name for name, old, new in (("timezone", doctor.timezone, timezone), ("bio", doctor.bio, bio),
                                               ("philosophy", doctor.philosophy, philosophy)) if old != new]
        if changed:
            uow.session.execute(update(Doctor).where(Doctor.id == doctor.id)
                                .values(timezone=timezone, bio=bio, philosophy=philosophy))
            record_audit(uow.session, actor, action="doctor.settings_updated", subject_type="doctor",
                         subject_id=str(doctor.id), at=clock.now(), details={"fields": changed})
    return DoctorSettings(timezone, bio, philosophy)


def get_weekly_hours(actor: Actor) -> tuple[weekly.WeeklyHours, bool]:
    """The doctor's weekly hours and whether they are their own (False: the default)."""
    with unit_of_work(actor) as uow:
        raw = own_doctor(uow.session, actor).weekly_hours
    if raw is None:
        return weekly.default_week(), False
    return weekly.parse_weekly_hours(raw), True


def set_weekly_hours(actor: Actor, raw: dict | None) -> tuple[weekly.WeeklyHours, bool]:
    """Save weekly hours (SPEC §19): per weekday one or more ranges, validated by
    `core.scheduling.weekly`; None restores the 10:00–21:00 default. Days with explicit slots keep
    them (a doctor's choice sticks); every other day follows these hours at once. Audited."""
    week = weekly.parse_weekly_hours(raw) if raw is not None else None
    stored = weekly.to_json(week) if week is not None else None
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        if doctor.weekly_hours != stored:
            uow.session.execute(update(Doctor).where(Doctor.id == doctor.id).values(
                weekly_hours=stored if stored is not None else null()))  # SQL NULL, not JSON null
            record_audit(uow.session, actor, action="doctor.weekly_hours_updated", subject_type="doctor",
                         subject_id=str(doctor.id), at=clock.now(), details={"default": stored is None})
    return (week, True) if week is not None else (weekly.default_week(), False)


@dataclass(frozen=True)
class CalBridge:
    enabled: bool
    schedule_id: int | None
    synced_at: object | None


def get_cal_bridge(actor: Actor) -> CalBridge:
    with unit_of_work(actor) as uow:
        d = own_doctor(uow.session, actor)
        return CalBridge(d.cal_enabled, d.cal_schedule_id, d.cal_synced_at)


def set_cal_bridge(actor: Actor, *, enabled: bool, schedule_id: str | int | None) -> CalBridge:
    """Switch the Cal.com bridge for this doctor (SPEC §19): on, their Cal.com busy times block
    bookings from the next sync (every 5 minutes); off, the busy times already ingested stop
    blocking at once. The schedule id is Cal.com's number for the schedule we keep in step."""
    text = str(schedule_id).strip() if schedule_id is not None else ""
    if text and (not text.isdigit() or not 0 < int(text) < 2**31):
        raise ValidationFailed(N_("The Cal.com schedule id is a number, e.g. 123456."))
    number = int(text) if text else None
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        uow.session.execute(update(Doctor).where(Doctor.id == doctor.id)
                            .values(cal_enabled=enabled, cal_schedule_id=number))
        if not enabled:
            uow.session.execute(delete(ExternalBusy).where(ExternalBusy.doctor_id == doctor.id))
        record_audit(uow.session, actor, action="doctor.cal_bridge_updated", subject_type="doctor",
                     subject_id=str(doctor.id), at=clock.now(), details={"enabled": enabled})
        return CalBridge(enabled, number, doctor.cal_synced_at)
