"""A doctor's own availability: list, turn on/off, batch, conflicts, Online/Offline (SPEC §3, §4).

A doctor's choice always sticks. Turning a slot off keeps its row (is_available = false), so the
template never re-fills it. Editing a single slot on a day that still follows the template first
copies that day's template (10:00–21:00 in 30-minute slots) into explicit rows, so one click
changes one slot and not the whole day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core import clock
from core.actor import Actor
from core.db import unit_of_work
from core.errors import Forbidden, NotFound, SlotConflict, TimeWindow, ValidationFailed
from core.i18n import N_
from core.models import ACTIVE_STATUSES, Appointment, Doctor, Slot
from core.models.booking import hold_not_over
from core.scheduling.calendars import TEMPLATE_SOURCE
from core.scheduling.holds import lock_doctor
from core.scheduling.weekly import template_for

SLOT_LENGTH = timedelta(minutes=30)
GRID = timedelta(minutes=15)
MAX_SLOT = timedelta(hours=4)
MAX_BATCH_DAYS = 62


@dataclass(frozen=True)
class SlotView:
    id: uuid.UUID
    start: datetime
    end: datetime
    is_available: bool
    is_held: bool
    is_booked: bool


@dataclass(frozen=True)
class Conflict:
    kind: str  # "slot" | "appointment"
    start: datetime
    end: datetime
    slot_id: uuid.UUID | None = None


@dataclass(frozen=True)
class BatchResult:
    created: int
    updated: int
    skipped: list[datetime]


@dataclass(frozen=True)
class DoctorProfile:
    id: uuid.UUID
    number: int
    name: str
    specialty: str
    timezone: str
    online: bool
    languages: list[str]


def own_doctor(session: Session, actor: Actor) -> Doctor:
    """The doctor row of the acting doctor; anyone else is refused (role check in the service)."""
    if actor.role != "doctor" or actor.user_id is None:
        raise Forbidden(N_("Only doctors can manage availability."))
    doctor = session.scalar(select(Doctor).where(Doctor.user_id == actor.user_id))
    if doctor is None:
        raise Forbidden(N_("This account has no doctor profile."))
    return doctor


def validate_interval(start: datetime, end: datetime | None, now: datetime) -> datetime:
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise ValidationFailed(N_("Times need a time zone offset, e.g. 2026-03-02T09:00:00+01:00."))
    end = end or start + SLOT_LENGTH
    if end <= start:
        raise ValidationFailed(N_("The end must be after the start."))
    off_grid = start.minute % 15 or start.second or start.microsecond
    if end - start > MAX_SLOT or (end - start) % GRID or off_grid:
        raise ValidationFailed(
            N_("Slots start on a quarter hour and last 15 minutes to 4 hours, in 15-minute steps."))
    if start < now:
        raise TimeWindow(N_("Past times cannot be changed."))
    return end


def _conflicts(session: Session, doctor_id: uuid.UUID, start: datetime, end: datetime,
               ignore_start: bool) -> list[Conflict]:
    """Explicit slots overlapping [start, end) (other than the one starting at `start` when we are
    updating it) and active appointments overlapping it."""
    slot_filter = [Slot.doctor_id == doctor_id, Slot.start_at < end, Slot.end_at > start]
    if ignore_start:
        slot_filter.append(Slot.start_at != start)
    slots = session.execute(select(Slot.id, Slot.start_at, Slot.end_at).where(*slot_filter)).all()
    busy = session.execute(
        text("""SELECT start_at, end_at FROM doctor_busy_times(ARRAY[CAST(:d AS uuid)], :s, :e)
                 WHERE kind = 'appointment'"""), {"d": doctor_id, "s": start, "e": end}).all()
    return sorted(
        [Conflict("slot", s.start_at, s.end_at, s.id) for s in slots]
        + [Conflict("appointment", b.start_at, b.end_at) for b in busy],
        key=lambda c: c.start,
    )


def check_conflicts(actor: Actor, start: datetime, end: datetime | None = None) -> list[Conflict]:
    """What a new slot [start, end) would overlap: the doctor's slots and appointments."""
    end = validate_interval(start, end, clock.now())
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        return _conflicts(uow.session, doctor.id, start, end, ignore_start=False)


def list_slots(actor: Actor, start: datetime, end: datetime) -> list[SlotView]:
    now = clock.now()
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        booked = select(Appointment.id).where(
            Appointment.doctor_id == doctor.id, Appointment.status.in_(ACTIVE_STATUSES), hold_not_over(now),
            Appointment.start_at < Slot.end_at, Appointment.end_at > Slot.start_at,
        ).exists()
        rows = uow.session.execute(
            select(Slot, booked.label("booked"))
            .where(Slot.doctor_id == doctor.id, Slot.start_at >= start, Slot.start_at < end)
            .order_by(Slot.start_at)
        ).all()
        return [
            SlotView(s.id, s.start_at, s.end_at, s.is_available,
                     s.locked_until is not None and s.locked_until > now, is_booked)
            for s, is_booked in rows
        ]


def _materialise_template_day(session: Session, doctor: Doctor, day: date, now: datetime) -> None:
    """Copy-on-write: a template day becomes explicit, keeping its weekly hours (default
    10:00–21:00) in 30-minute slots."""
    tz = ZoneInfo(doctor.timezone)
    day_start = datetime.combine(day, time(0), tz)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tz)
    explicit = session.scalar(select(func.count()).select_from(Slot).where(
        Slot.doctor_id == doctor.id, Slot.start_at >= day_start, Slot.start_at < day_end,
        or_(Slot.source != TEMPLATE_SOURCE, ~Slot.is_available)))
    if explicit:
        return
    rows = []
    for range_start, range_end in template_for(doctor.weekly_hours).ranges(day):
        start = datetime.combine(day, range_start, tz).astimezone(UTC)
        end_day = day + timedelta(days=1) if range_end == time(0) else day
        last_end = datetime.combine(end_day, range_end, tz).astimezone(UTC)
        while start + SLOT_LENGTH <= last_end:  # real time: a DST day neither skips nor repeats
            if start > now:
                rows.append({"doctor_id": doctor.id, "start_at": start, "end_at": start + SLOT_LENGTH,
                             "is_available": True, "source": "doctor"})
            start += SLOT_LENGTH
    if rows:
        # A patient's hold may have materialised one of these starts already: keep it, make it explicit.
        stmt = insert(Slot).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["doctor_id", "start_at"], set_={"source": "doctor"}))


def _owe_waitlist(uow, doctor_id: uuid.UUID, starts: list[datetime]) -> None:
    """Time the doctor turns on is offered to their waitlist (SPEC §17), owed in this transaction."""
    from core.booking import waitlist  # booking builds on scheduling: imported where it is needed

    waitlist.owe_offers(uow, doctor_id, starts)


def set_slot(actor: Actor, start: datetime, end: datetime | None = None, *,
             is_available: bool = True) -> SlotView:
    """Turn a slot on (green) or off (white). Overlaps with other slots or appointments → 409."""
    now = clock.now()
    end = validate_interval(start, end, now)
    with unit_of_work(actor) as uow:
        session = uow.session
        return write_slot(uow, own_doctor(session, actor), start, end, is_available=is_available, now=now)


def write_slot(uow, doctor: Doctor, start: datetime, end: datetime, *, is_available: bool,
               now: datetime) -> SlotView:
    """`set_slot` inside a unit of work the caller opened (the doctor calendar's press writes and
    reads the cell back in one); `end` already validated."""
    session = uow.session
    lock_doctor(session, doctor.id)
    conflicts = _conflicts(session, doctor.id, start, end, ignore_start=True)
    if is_available and conflicts:
        raise SlotConflict(N_("This time overlaps another slot or an appointment."),
                           details={"conflicts": [c.start.isoformat() for c in conflicts]})
    if not is_available and any(c.kind == "appointment" for c in conflicts):
        raise SlotConflict(N_("This time is booked: cancel the appointment instead."))
    _materialise_template_day(session, doctor, start.astimezone(ZoneInfo(doctor.timezone)).date(), now)
    existing = session.scalar(select(Slot).where(Slot.doctor_id == doctor.id, Slot.start_at == start))
    held = existing is not None and existing.locked_until is not None and existing.locked_until > now
    if held and not is_available:
        raise SlotConflict(N_("A patient is booking this slot right now. Try again in a few minutes."))
    slot_id = session.scalar(
        insert(Slot).values(doctor_id=doctor.id, start_at=start, end_at=end, is_available=is_available,
                            source="doctor")
        .on_conflict_do_update(index_elements=["doctor_id", "start_at"],
                               set_={"end_at": end, "is_available": is_available, "source": "doctor"})
        .returning(Slot.id))
    if is_available:
        _owe_waitlist(uow, doctor.id, [start])
    return SlotView(slot_id, start, end, is_available, False, False)


def turn_off_slot(actor: Actor, slot_id: uuid.UUID) -> SlotView:
    """`DELETE /api/doctor/time-slots/<id>`: the slot stays as unavailable, so it stays off."""
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        slot = uow.session.get(Slot, slot_id)
        if slot is None or slot.doctor_id != doctor.id:
            raise NotFound(N_("No such slot in your calendar."))
        start, end = slot.start_at, slot.end_at
    return set_slot(actor, start, end, is_available=False)


def _check_batch(first_day: date, last_day: date, weekdays: set[int], start_time: time, end_time: time) -> None:
    if last_day < first_day:
        raise ValidationFailed(N_("The last day must not be before the first day."))
    if (last_day - first_day).days >= MAX_BATCH_DAYS:
        raise ValidationFailed(N_("A batch covers at most %(count)d days."), params={"count": MAX_BATCH_DAYS})
    until_midnight = end_time == time(0)  # 00:00 as an end: the end of the day
    if (end_time <= start_time and not until_midnight) or start_time.minute % 30 or end_time.minute % 30 \
            or start_time.second or end_time.second:
        raise ValidationFailed(N_("Hours run on the half hour, and the end comes after the start."))
    if not weekdays or not weekdays <= set(range(7)):
        raise ValidationFailed(N_("Weekdays are numbers 0 (Monday) to 6 (Sunday)."))


def _hours(day: date, start_time: time, end_time: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the hours on `day` as UTC instants; an end of 00:00 is the next midnight."""
    stop_day = day + timedelta(days=1) if end_time == time(0) else day
    return (datetime.combine(day, start_time, tz).astimezone(UTC),
            datetime.combine(stop_day, end_time, tz).astimezone(UTC))


def _days(first_day: date, last_day: date, weekdays: set[int]) -> list[date]:
    return [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)
            if (first_day + timedelta(days=i)).weekday() in weekdays]


def _batch_hours(session: Session, doctor: Doctor, days: list[date], start_time: time, end_time: time,
                 is_available: bool, now: datetime, opened: list[datetime] | None = None) -> BatchResult:
    created = updated = 0
    skipped: list[datetime] = []
    tz = ZoneInfo(doctor.timezone)
    for day in days:
        # Step in real (UTC) time: on the days the clocks change, no slot is skipped or repeated.
        start, stop = _hours(day, start_time, end_time, tz)
        while start + SLOT_LENGTH <= stop:
            outcome = _batch_one(session, doctor.id, start, is_available, now)
            if outcome == "skipped":
                skipped.append(start)
            else:
                if outcome == "created":
                    created += 1
                else:
                    updated += 1
                if is_available and opened is not None:
                    opened.append(start)
            start += SLOT_LENGTH
    return BatchResult(created, updated, skipped)


def batch_set_slots(actor: Actor, *, first_day: date, last_day: date, weekdays: set[int],
                    start_time: time, end_time: time, is_available: bool = True) -> BatchResult:
    """E.g. "weekdays 08:00–12:00 for 4 weeks": 30-minute slots in the doctor's time zone
    (`end_time` 00:00 = until midnight). Starts in the past or overlapping an appointment (or, to
    turn on, another slot) are skipped."""
    _check_batch(first_day, last_day, weekdays, start_time, end_time)
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        doctor = own_doctor(session, actor)
        lock_doctor(session, doctor.id)
        opened: list[datetime] = []
        result = _batch_hours(session, doctor, _days(first_day, last_day, weekdays), start_time, end_time,
                              is_available, now, opened)
        _owe_waitlist(uow, doctor.id, opened)
        return result


def replace_day_hours(actor: Actor, *, first_day: date, last_day: date, weekdays: set[int], start_time: time,
                      end_time: time) -> BatchResult:
    """"My hours are 08:00–18:00 on weekdays": on each chosen day, exactly these hours are open.
    The range is turned on (as `batch_set_slots`) and every other open slot of the day is turned
    off, in one transaction. Past, held and booked times are left as they are."""
    _check_batch(first_day, last_day, weekdays, start_time, end_time)
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        doctor = own_doctor(session, actor)
        lock_doctor(session, doctor.id)
        tz = ZoneInfo(doctor.timezone)
        days = _days(first_day, last_day, weekdays)
        closed = 0
        for day in days:
            open_from, open_until = _hours(day, start_time, end_time, tz)
            day_from, day_until = _hours(day, time(0), time(0), tz)
            closed += session.execute(
                update(Slot).where(
                    Slot.doctor_id == doctor.id, Slot.start_at >= day_from, Slot.start_at < day_until,
                    or_(Slot.start_at < open_from, Slot.start_at >= open_until), Slot.is_available,
                    Slot.start_at > now, or_(Slot.locked_until.is_(None), Slot.locked_until <= now))
                .values(is_available=False, source="doctor").execution_options(synchronize_session=False)).rowcount
        starts: list[datetime] = []
        opened = _batch_hours(session, doctor, days, start_time, end_time, True, now, starts)
        _owe_waitlist(uow, doctor.id, starts)
    return BatchResult(opened.created, opened.updated + closed, opened.skipped)


def _batch_one(session: Session, doctor_id: uuid.UUID, start: datetime, is_available: bool,
               now: datetime) -> str:
    end = start + SLOT_LENGTH
    if start <= now:
        return "skipped"
    conflicts = _conflicts(session, doctor_id, start, end, ignore_start=True)
    if any(c.kind == "appointment" for c in conflicts) or (is_available and conflicts):
        return "skipped"
    row = session.execute(
        insert(Slot).values(doctor_id=doctor_id, start_at=start, end_at=end, is_available=is_available,
                            source="doctor")
        .on_conflict_do_update(index_elements=["doctor_id", "start_at"],
                               set_={"end_at": end, "is_available": is_available, "source": "doctor"},
                               where=and_(Slot.locked_until.is_(None) | (Slot.locked_until <= now)))
        .returning(Slot.id, literal_column("(xmax = 0)").label("inserted"))  # 0: a fresh row
    ).one_or_none()
    if row is None:
        return "skipped"  # held by a patient right now
    return "created" if row.inserted else "updated"


def doctor_profile(actor: Actor) -> DoctorProfile:
    with unit_of_work(actor) as uow:
        d = own_doctor(uow.session, actor)
        return DoctorProfile(d.id, d.number, d.display_name, d.specialty, d.timezone, d.online,
                             list(d.languages))


def set_online(actor: Actor, online: bool) -> DoctorProfile:
    """Offline hides every slot of the doctor from patients at once (SPEC §9), and ends "taking
    consultations now" (SPEC §17: walk-ins are offered only while Online)."""
    with unit_of_work(actor) as uow:
        d = own_doctor(uow.session, actor)
        values = {"online": online} if online else {"online": False, "taking_now": False}
        uow.session.execute(update(Doctor).where(Doctor.id == d.id).values(**values))
    return doctor_profile(actor)
