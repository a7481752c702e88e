"""Load what the availability engine needs for many doctors in three queries (SPEC §3).

1. the doctors (time zone, online), 2. their slot rows (explicit slots and holds),
3. their busy times (active appointments — a pending one only while its hold lasts — and Cal.com
events) through `doctor_busy_times()`, which shows times to anyone without revealing whose appointments they are.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from core.models import Doctor, Slot
from core.scheduling.engine import (
    BUFFER,
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

_BUSY = text(
    "SELECT doctor_id, start_at, end_at, kind FROM doctor_busy_times(:ids, :start, :end, :now)"
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

    def availability(self, start: datetime, end: datetime, now: datetime,
                     viewer_id: uuid.UUID | None, *, rhythm: bool = True) -> list[Availability]:
        """Run the pure engine over what was loaded: the offered starts, or (`rhythm=False`, a hold's
        or a reschedule's check) every free one."""
        return unified_availability(
            tz=self.tz, explicit=self.explicit, appointment_starts=self.appointment_starts,
            busy=self.busy, holds=self.holds, online=self.online, now=now,
            window_start=start, window_end=end, viewer_id=viewer_id, template=self.template, rhythm=rhythm,
        )


def local_midnight(moment: datetime, tz: ZoneInfo) -> datetime:
    """The start of the local day `moment` lies in."""
    return datetime.combine(moment.astimezone(tz).date(), time(0), tz)


def load_calendars(session: Session, doctor_ids: list[uuid.UUID], start: datetime, end: datetime,
                   now: datetime) -> dict[uuid.UUID, DoctorCalendar]:
    doctors = session.execute(
        select(Doctor.id, Doctor.timezone, Doctor.online, Doctor.weekly_hours)
        # Only approved doctors have a public calendar (SPEC §19): a pending or suspended doctor is
        # "no such doctor" to availability, holds, bookings and reschedules alike.
        .where(Doctor.id.in_(doctor_ids), Doctor.status == "approved")
    ).all()
    calendars = {d.id: DoctorCalendar(d.id, ZoneInfo(d.timezone), d.online, template=template_for(d.weekly_hours))
                 for d in doctors}
    if not calendars:
        return calendars
    ids = list(calendars)
    slots = session.execute(
        select(Slot.id, Slot.doctor_id, Slot.start_at, Slot.end_at, Slot.is_available, Slot.source,
               Slot.locked_by, Slot.locked_until)
        .where(Slot.doctor_id.in_(ids), Slot.start_at >= start - DAY_MARGIN, Slot.start_at < end + DAY_MARGIN)
        .order_by(Slot.start_at)
    ).all()
    for row in slots:
        calendar = calendars[row.doctor_id]
        if row.source != TEMPLATE_SOURCE or not row.is_available:
            calendar.explicit.append(ExplicitSlot(row.id, row.start_at, row.end_at, row.is_available))
        if row.locked_by is not None and row.locked_until > now:
            calendar.holds.append(Hold(row.start_at, row.locked_by, row.locked_until, row.id))
    busy_rows: dict[uuid.UUID, list] = defaultdict(list)
    # The offered rhythm of a day depends on the whole day (engine), so busy times are read from
    # the local midnight of the window's first day (a little before it, by the buffer).
    busy_from = min(local_midnight(start, c.tz) for c in calendars.values()) - BUFFER
    for row in session.execute(_BUSY, {"ids": ids, "start": busy_from, "end": end + BUFFER, "now": now}):
        busy_rows[row.doctor_id].append(row)
    for doctor_id, rows in busy_rows.items():
        calendar = calendars[doctor_id]
        calendar.appointment_starts = sorted(r.start_at for r in rows if r.kind == "appointment")
        calendar.busy = [Busy(r.start_at, r.end_at) for r in rows if r.kind == "external"]
    return calendars
