"""The doctor's calendar (SPEC §4; issue 8): every 30-minute cell of a local day with its state,
and the services the portal's Day, Week and Month views call.

A cell is what the doctor sees and presses: green **available** (press → turn off), white
**unavailable** (press → turn on), blue **booked** (the patient's name; cancel the appointment
instead), amber **held** (a patient is paying for it right now). Cells that have started are
**past**: shown, never changed. The states are the availability engine's verdicts
(`core.scheduling.engine.classify_day`, the one slot rule): a cell is green when a start inside it
is open (a local day with at least one explicit available slot opens only its explicit slots;
other days follow the doctor's weekly hours, default 10:00–21:00, minus the slots the doctor
turned off). An open cell with no start patients are offered says why (`not_offered`: too soon,
within 45 minutes of a booking or a paying patient's hold, busy in the external calendar, between
two offered times of the 45-minute rhythm, or Offline); the Month view counts offered starts, the
same number a patient sees for that day.

Days are walked in real time from local midnight to the next one, so a day has 46 cells when the
clocks go forward and 50 when they go back (the repeated hour's second pass is `repeated`).
Toggling goes through `core.scheduling.doctor_slots` — the same service as the doctor time-slot API
(a choice sticks, template days are copied on write, overlaps → ERR_SLOT_CONFLICT).
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import clock
from core.actor import Actor
from core.db import translate_db_error, unit_of_work
from core.errors import DomainError, ValidationFailed
from core.i18n import N_
from core.models import ACTIVE_STATUSES, Appointment, Doctor, ExternalBusy, Patient, Slot, User
from core.models.booking import hold_not_over
from core.scheduling import doctor_slots
from core.scheduling.calendars import TEMPLATE_SOURCE
from core.scheduling.engine import (
    BUFFER,
    CLOSED,
    DEFAULT_TEMPLATE,
    Busy,
    ExplicitSlot,
    Hold,
    Verdict,
    WorkingTemplate,
    classify_day,
)
from core.scheduling.weekly import template_for

CELL = timedelta(minutes=30)
AVAILABLE, UNAVAILABLE, BOOKED, HELD = "available", "unavailable", "booked", "held"
# Shown as booked: what occupies the time now, and what happened in it (greyed once past).
SHOWN_STATUSES = (*ACTIVE_STATUSES, "completed", "no_show")
MAX_DAYS = 42  # six weeks: the most a month view shows
MAX_APPOINTMENT = timedelta(hours=4)  # no appointment is longer (a slot lasts at most 4 h)
NEAR = timedelta(hours=6)  # what lies farther from a day cannot touch it: > the 45 min buffer + the longest slot


@dataclass(frozen=True)
class SlotRow:
    start: datetime
    end: datetime
    is_available: bool
    explicit: bool  # a doctor's (or the seed's) choice; False: a row a patient's hold materialised
    held: bool  # a patient holds it right now


@dataclass(frozen=True)
class BookedRow:
    id: uuid.UUID
    start: datetime
    end: datetime
    status: str
    patient_name: str


@dataclass(frozen=True)
class Cell:
    start: datetime  # UTC
    end: datetime
    local: datetime  # the start on the doctor's wall clock (fold=1 on the repeated hour)
    state: str
    past: bool
    weekend: bool
    patient_name: str | None = None
    appointment_id: uuid.UUID | None = None
    appointment_status: str | None = None
    not_offered: str | None = None  # why an available cell is not bookable by patients right now
    now_fraction: float | None = None  # where "now" lies inside this cell (0–1), if it does
    offered_starts: int = 0  # starts inside this cell patients are offered (engine verdicts)

    @property
    def repeated(self) -> bool:
        return self.local.fold == 1

    @property
    def row_key(self) -> str:
        """Same wall-clock time, same row: "14:30"; the second 02:30 of a fall-back day "02:30+"."""
        return self.local.strftime("%H:%M") + ("+" if self.repeated else "")

    @property
    def pressable(self) -> bool:
        """Only open and closed times change by a press: booked ones are cancelled instead, held ones
        belong to a paying patient for a few minutes, past ones are history."""
        return not self.past and self.state in (AVAILABLE, UNAVAILABLE)


@dataclass(frozen=True)
class DayColumn:
    day: date
    cells: list[Cell]
    explicit: bool  # the day follows the doctor's explicit slots, not the template

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5


@dataclass(frozen=True)
class CalendarView:
    timezone: str
    online: bool
    now: datetime
    days: list[DayColumn]


@dataclass(frozen=True)
class DaySummary:
    day: date
    available: int
    booked: int
    past: bool


def row_order(key: str) -> tuple[int, int, int]:
    """Rows sort by hour, then first/second pass of a repeated hour, then minute: 02:00, 02:30,
    02:00+, 02:30+, 03:00 on the day the clocks go back."""
    hour, minute = int(key[:2]), int(key[3:5])
    return hour, 1 if key.endswith("+") else 0, minute


def local_day_bounds(tz: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) as UTC instants."""
    return (datetime.combine(day, time(0), tz).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC))


def _overlaps(start: datetime, end: datetime, intervals: Sequence[tuple[datetime, datetime]]) -> bool:
    return any(s < end and start < e for s, e in intervals)


# Why an open cell offers patients no start, most telling first (`core.scheduling.engine.Verdict`).
REASONS: dict[Verdict, str] = {
    Verdict.OFFLINE: N_("you are Offline"),
    Verdict.NOTICE: N_("less than 60 minutes from now"),
    Verdict.BOOKED: N_("within 45 minutes of a booking"),
    Verdict.BUFFER: N_("within 45 minutes of a booking"),
    Verdict.HELD: N_("within 45 minutes of a time a patient is paying for"),
    Verdict.BUSY: N_("busy in your external calendar"),
    Verdict.RHYTHM: N_("between two offered starts 45 minutes apart"),
}
_ANYONE = uuid.UUID(int=0)  # the holder of a held row, as the calendar sees it: not the doctor


def day_cells(tz: ZoneInfo, day: date, *, slots: Sequence[SlotRow], booked: Sequence[BookedRow],
              busy: Sequence[tuple[datetime, datetime]], now: datetime,
              template: WorkingTemplate = DEFAULT_TEMPLATE, online: bool = True) -> DayColumn:
    """The cells of one local day (a pure rule: plain values in, cells out). `slots`, `booked` and
    `busy` may cover more than the day; what lies outside it is ignored, except what blocks a start
    of the day (the ±45 min buffer) or sets its rhythm.

    The slot rule is the engine's (`classify_day`); this only colours its verdicts: a cell is open
    (green) when a start inside it is open, and offered when one is offered — else `not_offered`
    says why. Bookings and holds are drawn from their rows (names, the amber of a paying patient)."""
    day_start, day_end = local_day_bounds(tz, day)
    # Only what lies near the day can touch it (the buffer, a slot's length): a Week view passes
    # the whole week's rows to each of its 7 days, and the engine would prepare them 7 times over.
    near_from, near_to = day_start - NEAR, day_end + NEAR
    slots = [s for s in slots if s.start < near_to and s.end > near_from]
    booked = [b for b in booked if b.start < near_to and b.end > near_from]
    busy = [(s, e) for s, e in busy if s < near_to and e > near_from]
    # A hold takes one consultation from its start, however long the (explicit) row it holds.
    held = [(s.start, s.start + template.duration) for s in slots if s.held]
    verdicts = classify_day(
        tz=tz, day=day, now=now, template=template, online=online,
        explicit=[ExplicitSlot(None, s.start, s.end, s.is_available) for s in slots if s.explicit],
        appointment_starts=[b.start for b in booked if b.status in ACTIVE_STATUSES],
        busy=[Busy(s, e) for s, e in busy],
        holds=[Hold(s, _ANYONE, now + CELL) for s, _ in held])  # rows read as live holds at `now`
    explicit_day = any(s.explicit and s.is_available and day_start <= s.start < day_end for s in slots)
    shown = sorted((b for b in booked if b.status in SHOWN_STATUSES and b.start < day_end and b.end > day_start),
                   key=lambda b: b.start)
    shown_starts = [b.start for b in shown]
    longest = max((b.end - b.start for b in shown), default=CELL)
    weekend = day.weekday() >= 5
    cells: list[Cell] = []
    moment, i = day_start, 0
    while moment < day_end:
        end = moment + CELL
        inside: list[Verdict] = []
        while i < len(verdicts) and verdicts[i].start < end:
            inside.append(verdicts[i].verdict)
            i += 1
        local = moment.astimezone(tz)
        past = moment <= now
        now_fraction = (now - moment) / CELL if moment <= now < end else None
        appointment = _booked_in(shown, shown_starts, moment, end, longest)
        if appointment is not None:
            cells.append(Cell(moment, end, local, BOOKED, past, weekend, appointment.patient_name,
                              appointment.id, appointment.status, None, now_fraction))
            moment = end
            continue
        open_ = [v for v in inside if v not in CLOSED]
        state = HELD if _overlaps(moment, end, held) else AVAILABLE if open_ else UNAVAILABLE
        offered = open_.count(Verdict.OFFERED) if state == AVAILABLE else 0
        reason = None
        if state == AVAILABLE and not past and not offered:
            reason = next((REASONS[v] for v in REASONS if v in open_), None)
        cells.append(Cell(moment, end, local, state, past, weekend, not_offered=reason, now_fraction=now_fraction,
                          offered_starts=offered))
        moment = end
    return DayColumn(day, cells, explicit_day)


def _booked_in(shown: list[BookedRow], starts: list[datetime], start: datetime, end: datetime,
               longest: timedelta = MAX_APPOINTMENT) -> BookedRow | None:
    """The earliest appointment overlapping [start, end): of those starting in [start - longest,
    end), the first that ends after `start` (`longest`: the longest of `shown`, at most 4 h)."""
    for i in range(bisect_left(starts, start - longest), bisect_left(starts, end)):
        if shown[i].end > start:
            return shown[i]
    return None


# --- services ------------------------------------------------------------------------------------

@dataclass
class _Loaded:
    tz: ZoneInfo
    online: bool
    slots: list[SlotRow]
    booked: list[BookedRow]
    busy: list[tuple[datetime, datetime]]
    template: WorkingTemplate = DEFAULT_TEMPLATE


def _load(actor: Actor, first_day: date, last_day: date, now: datetime) -> _Loaded:
    with unit_of_work(actor) as uow:
        return _read(uow.session, doctor_slots.own_doctor(uow.session, actor), first_day, last_day, now)


def _read(session: Session, doctor: Doctor, first_day: date, last_day: date, now: datetime) -> _Loaded:
    """What the cells of [first_day, last_day] are made of, read in the caller's transaction."""
    tz = ZoneInfo(doctor.timezone)
    start, _ = local_day_bounds(tz, first_day)
    _, end = local_day_bounds(tz, last_day)
    slot_rows = session.execute(
        select(Slot.start_at, Slot.end_at, Slot.is_available, Slot.source, Slot.locked_by, Slot.locked_until)
        .where(Slot.doctor_id == doctor.id, Slot.start_at >= start, Slot.start_at < end)
        .order_by(Slot.start_at)).all()
    # Appointments a little outside the window still block cells inside it by the buffer.
    appointment_rows = session.execute(
        select(Appointment.id, Appointment.start_at, Appointment.end_at, Appointment.status,
               Appointment.patient_id)
        .where(Appointment.doctor_id == doctor.id, Appointment.status.in_(SHOWN_STATUSES), hold_not_over(now),
               Appointment.start_at < end + BUFFER, Appointment.end_at > start - BUFFER)
        .order_by(Appointment.start_at)).all()
    # Names once per patient, not per appointment: the row-level security of `patients` and
    # `users` runs a function per row it checks (measured: a booked-solid week, 224 rows joined,
    # 26 ms; the ~20 distinct patients, 2 ms).
    patient_ids = {r.patient_id for r in appointment_rows}
    names = dict(session.execute(
        select(Patient.id, User.full_name).join(User, User.id == Patient.user_id)
        .where(Patient.id.in_(patient_ids))).all()) if patient_ids else {}
    busy_rows = session.execute(
        select(ExternalBusy.start_at, ExternalBusy.end_at)
        .where(ExternalBusy.doctor_id == doctor.id, ExternalBusy.start_at < end, ExternalBusy.end_at > start)
    ).all()
    # Instants in `datetime.UTC`, like the cells' own: psycopg returns them in the session's zone
    # (a ZoneInfo "Etc/UTC"), and comparing datetimes of two tzinfo objects asks each for its
    # offset — a Week view compares them some 20,000 times (measured: its cells 5.9 → 4.1 ms).
    return _Loaded(
        tz, doctor.online,
        [SlotRow(r.start_at.astimezone(UTC), r.end_at.astimezone(UTC), r.is_available,
                 r.source != TEMPLATE_SOURCE or not r.is_available,
                 r.locked_by is not None and r.locked_until is not None and r.locked_until > now)
         for r in slot_rows],
        [BookedRow(r.id, r.start_at.astimezone(UTC), r.end_at.astimezone(UTC), r.status,
                   names.get(r.patient_id, "A patient"))
         for r in appointment_rows],
        [(r.start_at.astimezone(UTC), r.end_at.astimezone(UTC)) for r in busy_rows],
        template_for(doctor.weekly_hours),
    )


def doctor_calendar(actor: Actor, first_day: date, day_count: int = 7) -> CalendarView:
    """The doctor's cells for `day_count` local days from `first_day` (Day view: 1, Week view: 7)."""
    if not 1 <= day_count <= MAX_DAYS:
        raise ValidationFailed(N_("The calendar shows 1 to %(count)d days at a time."), params={"count": MAX_DAYS})
    now = clock.now()
    days = [first_day + timedelta(days=i) for i in range(day_count)]
    loaded = _load(actor, days[0], days[-1], now)
    columns = [day_cells(loaded.tz, d, slots=loaded.slots, booked=loaded.booked, busy=loaded.busy, now=now,
                         template=loaded.template, online=loaded.online)
               for d in days]
    return CalendarView(loaded.tz.key, loaded.online, now, columns)


def month_days(year: int, month: int) -> list[date]:
    """The days the Month view shows: whole weeks (Monday first) covering the month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    start = first - timedelta(days=first.weekday())
    last = following - timedelta(days=1)
    end = last + timedelta(days=6 - last.weekday())
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def month_overview(actor: Actor, year: int, month: int) -> tuple[str, list[DaySummary]]:
    """Per day of the Month view: how many starts patients are offered (the same count as the
    patient's list of that day) and how many consultations are booked.
    Only these counts travel to the page; a day's cells are built when it is opened."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValidationFailed(N_("No such month."))
    view = doctor_calendar(actor, month_days(year, month)[0], len(month_days(year, month)))
    summaries = []
    for column in view.days:
        booked_ids = {c.appointment_id for c in column.cells if c.state == BOOKED}
        summaries.append(DaySummary(
            column.day,
            available=sum(c.offered_starts for c in column.cells),  # what patients are offered that day
            booked=len(booked_ids),
            past=all(c.past for c in column.cells),
        ))
    return view.timezone, summaries


def toggle_cell(actor: Actor, start: datetime, *, turn_on: bool) -> Cell:
    """Turn one 30-minute cell on or off (the doctor time-slot semantics of SPEC §3: the choice
    sticks; a template day is copied on write) and return the cell as it now is."""
    pressed = press_cell(actor, start, turn_on=turn_on)
    if pressed.refused is not None:
        raise pressed.refused
    return pressed.cell


@dataclass(frozen=True)
class Pressed:
    cell: Cell  # the cell as it is after the press (unchanged if refused)
    refused: DomainError | None  # why the change was refused, if it was


def press_cell(actor: Actor, start: datetime, *, turn_on: bool) -> Pressed:
    """A press on the calendar (SPEC §4): the change and the cell read back in one transaction.
    A refusal (booked, held, overlapping, past) rolls back only its savepoint, so the answer still
    shows the cell as it really is (another tab may have changed it)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValidationFailed(N_("A cell's start needs a time zone offset."))
    now = clock.now()
    refused = None
    with unit_of_work(actor) as uow:
        session = uow.session
        doctor = doctor_slots.own_doctor(session, actor)
        try:
            with session.begin_nested():
                end = doctor_slots.validate_interval(start, start + CELL, now)
                doctor_slots.write_slot(uow, doctor, start, end, is_available=turn_on, now=now)
        except DomainError as exc:
            refused = exc
        except DBAPIError as exc:
            translated = translate_db_error(exc)
            if not isinstance(translated, DomainError):
                raise
            refused = translated
        day = start.astimezone(ZoneInfo(doctor.timezone)).date()
        cell = _cell_in(_read(session, doctor, day, day, now), start, now)
    return Pressed(cell, refused)


def _cell_in(loaded: _Loaded, start: datetime, now: datetime) -> Cell:
    day = start.astimezone(loaded.tz).date()
    column = day_cells(loaded.tz, day, slots=loaded.slots, booked=loaded.booked, busy=loaded.busy, now=now,
                       template=loaded.template, online=loaded.online)
    found = next((c for c in column.cells if c.start == start), None)
    if found is None:
        raise ValidationFailed(N_("No calendar cell starts at this time."))
    return found


def cell_at(actor: Actor, start: datetime) -> Cell:
    """One cell as it is now."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        doctor = doctor_slots.own_doctor(uow.session, actor)
        day = start.astimezone(ZoneInfo(doctor.timezone)).date()
        return _cell_in(_read(uow.session, doctor, day, day, now), start, now)


def set_range(actor: Actor, *, first_day: date, last_day: date, start_time: time, end_time: time,
              weekdays: set[int], turn_on: bool) -> doctor_slots.BatchResult:
    """Bulk: turn a whole day or a range of days and hours on or off (`end_time` 00:00 = midnight),
    in 30-minute slots in the doctor's time zone. Booked, held and past times are skipped."""
    return doctor_slots.batch_set_slots(actor, first_day=first_day, last_day=last_day, weekdays=weekdays,
                                        start_time=start_time, end_time=end_time, is_available=turn_on)


def set_usual_hours(actor: Actor, *, first_day: date, last_day: date, start_time: time, end_time: time,
                    weekdays: set[int]) -> doctor_slots.BatchResult:
    """Settings "Usual hours": on each chosen day exactly these hours are open (SPEC §3: a day with
    explicit slots offers only them, so this replaces the default template on those days)."""
    return doctor_slots.replace_day_hours(actor, first_day=first_day, last_day=last_day, weekdays=weekdays,
                                          start_time=start_time, end_time=end_time)
