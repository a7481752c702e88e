"""Unified availability for one doctor or many (SPEC §3 `unified-availability`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import clock
from core.actor import Actor
from core.errors import NotFound, ValidationFailed
from core.i18n import N_
from core.scheduling import availability_cache
from core.scheduling.engine import Availability, next_free

DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=62)
MAX_BATCH = 50


def resolve_window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """Default: the next 7 days. At most 62 days; `from` before `to`; times with an offset."""
    for value, name in ((start, "from"), (end, "to")):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(N_("`%(name)s` needs a time zone offset, e.g. 2026-03-02T09:00:00+01:00."),
                                   params={"name": name})
    start = start or now
    end = end or start + DEFAULT_WINDOW
    if end <= start:
        raise ValidationFailed(N_("`to` must be after `from`."))
    if end - start > MAX_WINDOW:
        raise ValidationFailed(N_("The window can be at most 62 days."))
    return start, end


@dataclass(frozen=True)
class DoctorAvailability:
    doctor_id: uuid.UUID
    timezone: str
    slots: list[Availability]


def doctor_availability(actor: Actor, doctor_id: uuid.UUID, start: datetime | None = None,
                        end: datetime | None = None, *, rhythm: bool = True) -> DoctorAvailability:
    """Explicit slots back-filled by the template, minus buffers, notice, others' holds (SPEC §3):
    the starts patients are offered (the 45-minute rhythm), or with `rhythm=False` every free one.
    Public data: read outside any transaction, from the availability cache or in one statement
    (issue 21); the viewer only decides which holds are theirs."""
    now = clock.now()
    start, end = resolve_window(start, end, now)
    calendars = availability_cache.current().calendars([doctor_id], start, end, now)
    if doctor_id not in calendars:
        raise NotFound(N_("No such doctor."))
    calendar = calendars[doctor_id]
    slots = calendar.availability(start, end, now, actor.user_id, rhythm=rhythm)
    return DoctorAvailability(doctor_id, calendar.tz.key, slots)


def next_free_slots(actor: Actor, doctor_ids: list[uuid.UUID], *, count: int = 2,
                    start: datetime | None = None, end: datetime | None = None
                    ) -> dict[uuid.UUID, list[Availability]]:
    """The next `count` bookable starts of many doctors, in one statement whatever their number
    (or none, from the availability cache); the engine stops at the day that has them."""
    if len(doctor_ids) > MAX_BATCH:
        raise ValidationFailed(N_("At most %(count)d doctors at once."), params={"count": MAX_BATCH})
    now = clock.now()
    start, end = resolve_window(start, end, now)
    calendars = availability_cache.current().calendars(list(dict.fromkeys(doctor_ids)), start, end, now)
    return {
        doctor_id: next_free(calendar.availability(start, end, now, actor.user_id, wanted=count), count)
        for doctor_id, calendar in calendars.items()
    }
