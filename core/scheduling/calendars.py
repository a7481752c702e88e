"""Load what the availability engine needs for many doctors in one statement (SPEC §3, issue 21).

`doctor_calendars()` (migration 0011a) returns one row per approved doctor: time zone, online,
weekly hours, the slot rows (explicit slots and holds) and the busy times (active appointments —
a pending one only while its hold lasts — and Cal.com events, through `doctor_busy_times()`, which
shows times to anyone without revealing whose appointments they are), as parallel arrays.
Inside a transaction (holds) it runs on the caller's session; public reads run it outside any
transaction (`core.db.query_once`): one round trip.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from core import db
from core.scheduling.engine import (
    DEFAULT_TEMPLATE,
    Availability,
    Busy,
    ExplicitSlot,
    Hold,
    WorkingTemplate,
    unified_availability,
)
from core.scheduling.weekly import template_for

# Slots of a whole local day decide whether it is an explicit day: load a day either side.
DAY_MARGIN = timedelta(days=1)
# Rows a patient's hold materialised from the template: not a doctor's choice.
TEMPLATE_SOURCE = "template"

_CALENDARS = text(
    "SELECT * FROM doctor_calendars(:ids, :start, :end, :now)"
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


@dataclass
class DoctorCalendar:
    doctor_id: uuid.UUID
    tz: ZoneInfo
    online: bool
    explicit: list[ExplicitSlot] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    appointment_starts: list[datetime] = field(default_factory=list)
    busy: list[Busy] = field(default_factory=list)
    template: WorkingTemplate = DEFAULT_TEMPLATE  # the doctor's weekly hours (SPEC §19)
    valid_until: datetime | None = None  # this answer changes by itself then (a pending hold ends)

    def availability(self, start: datetime, end: datetime, now: datetime,
                     viewer_id: uuid.UUID | None, *, rhythm: bool = True,
                     wanted: int | None = None) -> list[Availability]:
        """Run the pure engine over what was loaded: the offered starts, or (`rhythm=False`, a hold's
        or a reschedule's check) every free one; `wanted`: only the first so many bookable starts
        are needed (the engine may stop at the local day that has them)."""
        return unified_availability(
            tz=self.tz, explicit=self.explicit, appointment_starts=self.appointment_starts,
            busy=self.busy, holds=self.holds, online=self.online, now=now,
            window_start=start, window_end=end, viewer_id=viewer_id, template=self.template, rhythm=rhythm,
            wanted=wanted,
        )


def load_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The rows a window needs: slots of whole local days (an explicit day is decided by all its
    slots) and appointments within the 45-minute buffer — a day either side covers both."""
    return start - DAY_MARGIN, end + DAY_MARGIN


def calendars_from_rows(rows, now: datetime) -> dict[uuid.UUID, DoctorCalendar]:
    """`doctor_calendars()` rows as engine inputs. Every hold is kept with its expiry: the engine
    drops the ones that are over at the time it runs (so a cached calendar stays right)."""
    calendars: dict[uuid.UUID, DoctorCalendar] = {}
    for row in rows:
        calendar = DoctorCalendar(row.doctor_id, ZoneInfo(row.timezone), row.online,
                                  template=template_for(row.weekly_hours), valid_until=row.valid_until)
        if row.slot_ids:
            for slot_id, start, end, available, template, locked_by, locked_until in zip(
                    row.slot_ids, row.slot_starts, row.slot_ends, row.slot_available, row.slot_template,
                    row.slot_locked_by, row.slot_locked_until, strict=True):
                if not template or not available:
                    calendar.explicit.append(ExplicitSlot(slot_id, start, end, available))
                if locked_by is not None and locked_until is not None:
                    calendar.holds.append(Hold(start, locked_by, locked_until, slot_id))
        if row.busy_starts:
            for start, end, external in zip(row.busy_starts, row.busy_ends, row.busy_external, strict=True):
                if external:
                    calendar.busy.append(Busy(start, end))
                else:
                    calendar.appointment_starts.append(start)
        calendars[row.doctor_id] = calendar
    return calendars


def load_calendars(session: Session | None, doctor_ids: list[uuid.UUID], start: datetime, end: datetime,
                   now: datetime) -> dict[uuid.UUID, DoctorCalendar]:
    """Only approved doctors have a public calendar (SPEC §19): a pending or suspended doctor is
    "no such doctor" to availability, holds, bookings and reschedules alike. With no session, the
    statement runs on its own, outside any transaction (one round trip)."""
    if not doctor_ids:
        return {}
    return calendars_from_rows(calendar_rows(session, doctor_ids, *load_range(start, end), now), now)


def calendar_rows(session: Session | None, doctor_ids: list[uuid.UUID], low: datetime, high: datetime,
                  now: datetime) -> list:
    """`doctor_calendars()` for slots and busy times in [low, high): on the session, or on its own."""
    params = {"ids": doctor_ids, "start": low, "end": high, "now": now}
    return session.execute(_CALENDARS, params).all() if session is not None else db.query_once(_CALENDARS, params)
