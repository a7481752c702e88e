"""The pure availability engine (SPEC §3): plain values in, bookable starts out.

No I/O, no framework: the service layer loads rows and calls `unified_availability`.
All instants are timezone-aware; days and working hours are the doctor's local ones.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

BUFFER = timedelta(minutes=45)  # no start closer than this to an active appointment's start
ADVANCE_NOTICE = timedelta(minutes=60)  # nothing bookable sooner than this from now


Range = tuple[time, time]  # local [start, end); an end of time(0) means midnight at the end of the day


@dataclass(frozen=True)
class WorkingTemplate:
    """Hours where a day has no explicit slots: starts every `step`, each consultation `duration`
    long and over by the range's end. `day_end=time(0)` means midnight at the end of the day.

    `weekly` (SPEC §19 weekly hours) replaces the single daily range per doctor: seven entries,
    Monday first, each a tuple of ranges (empty: closed that weekday). None: every day
    `day_start`–`day_end` (the 10:00–21:00 default)."""

    day_start: time = time(10, 0)
    day_end: time = time(21, 0)
    step: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=30)
    weekly: tuple[tuple[Range, ...], ...] | None = None

    def ranges(self, day: date) -> tuple[Range, ...]:
        """The local working ranges of one calendar day."""
        if self.weekly is None:
            return ((self.day_start, self.day_end),)
        return self.weekly[day.weekday()]


DEFAULT_TEMPLATE = WorkingTemplate()


@dataclass(frozen=True)
class ExplicitSlot:
    slot_id: uuid.UUID | None
    start: datetime
    end: datetime
    is_available: bool


@dataclass(frozen=True)
class Hold:
    start: datetime
    holder_id: uuid.UUID
    until: datetime
    slot_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Busy:
    """An external (Cal.com) busy interval [start, end)."""

    start: datetime
    end: datetime


class Availability(NamedTuple):
    """One entry of the result (a tuple: cheap to build by the hundred)."""

    start: datetime
    end: datetime
    is_available: bool
    is_booked: bool
    slot_id: uuid.UUID | None = None
    held_by_viewer: bool = False


def _aware(*values: datetime | None) -> None:
    for value in values:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError("the availability engine needs timezone-aware datetimes")


def _local_days(tz: ZoneInfo, start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _local(day: date, moment: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as a UTC instant; `time(0)` as an end means the next midnight."""
    return datetime.combine(day, moment, tz).astimezone(UTC)


def template_starts(tz: ZoneInfo, window_start: datetime, window_end: datetime,
                    template: WorkingTemplate = DEFAULT_TEMPLATE) -> list[datetime]:
    """Template starts on every local day of the window, stepping in real (UTC) time so that
    DST days neither skip nor repeat an instant (spring forward: no 02:xx; fall back: the
    repeated hour gives two distinct instants)."""
    _aware(window_start, window_end)
    starts: list[datetime] = []
    for day in _local_days(tz, window_start, window_end):
        starts.extend(_day_template(tz, day, template))
    return starts


def _day_template(tz: ZoneInfo, day: date, template: WorkingTemplate) -> Iterable[datetime]:
    ranges = template.ranges(day)
    if len(ranges) == 1:
        yield from _range_starts(tz, day, ranges[0], template)
        return
    seen: set[datetime] = set()  # ranges are validated disjoint; this keeps the result exact anyway
    for found in sorted(m for r in ranges for m in _range_starts(tz, day, r, template)):
        if found not in seen:
            seen.add(found)
            yield found


def _range_starts(tz: ZoneInfo, day: date, hours: Range, template: WorkingTemplate) -> Iterable[datetime]:
    day_start, day_end = hours
    open_at = _local(day, day_start, tz)
    end_day = day + timedelta(days=1) if day_end == time(0) else day
    close_at = _local(end_day, day_end, tz)
    same_offset = (datetime.combine(day, day_start, tz).utcoffset()
                   == datetime.combine(end_day, day_end, tz).utcoffset())
    if same_offset:  # the usual case: no clock change within working hours
        moment = open_at
        while moment + template.duration <= close_at:
            yield moment
            moment += template.step
        return
    # A clock change inside working hours: walk real time across the whole local day and keep
    # starts whose wall-clock time lies in the hours (each instant once).
    moment = _local(day, time(0), tz)
    day_over = _local(day + timedelta(days=1), time(0), tz)
    open_wall = datetime.combine(day, day_start)
    close_wall = datetime.combine(end_day, day_end)
    while moment < day_over:
        wall = moment.astimezone(tz).replace(tzinfo=None)
        end_wall = (moment + template.duration).astimezone(tz).replace(tzinfo=None)
        if wall.date() == day and open_wall <= wall and end_wall <= close_wall:
            yield moment
        moment += template.step


def _near(sorted_starts: Sequence[int], moment: int, distance: int) -> bool:
    """Is any start strictly closer than `distance` seconds to `moment`?"""
    i = bisect_right(sorted_starts, moment - distance)  # first start strictly after moment - distance
    return i < len(sorted_starts) and sorted_starts[i] < moment + distance


def _overlaps(intervals: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in intervals)


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def unified_availability(*, tz: ZoneInfo, explicit: Sequence[ExplicitSlot],
                         appointment_starts: Sequence[datetime], busy: Sequence[Busy] = (),
                         holds: Sequence[Hold] = (), online: bool = True, now: datetime,
                         window_start: datetime, window_end: datetime, viewer_id: uuid.UUID | None = None,
                         template: WorkingTemplate = DEFAULT_TEMPLATE, wanted: int | None = None) -> list[Availability]:
    """What a viewer may book with a doctor in [window_start, window_end) (SPEC §3):

    - a local day with any explicit available slot offers only those; other days the template;
    - a slot the doctor turned off is never re-filled by the template;
    - no start within 45 min of an active appointment or of another viewer's live hold (a hold
      blocks its neighbours like a booking, so nobody picks a start that fails at payment);
    - nothing starts sooner than 60 min from now (exactly 60 is fine);
    - Cal.com busy intervals block what they overlap; an offline doctor offers nothing.
    Booked appointments are listed too (is_booked) so a page can show them.
    `wanted`: the caller needs only the first so many bookable starts (the home grid's next two):
    the walk stops after the local day that reaches them (later days are left out).
    Internally instants are whole epoch seconds: comparing aware datetimes costs an offset
    look-up each time, and this loop runs for every doctor on every page view.
    """
    _aware(now, window_start, window_end, *appointment_starts, *(s.start for s in explicit),
           *(h.start for h in holds), *(b.start for b in busy))
    if not online or window_end <= window_start:
        return []
    window_from, window_to, now_ts = _ts(window_start), _ts(window_end), _ts(now)
    earliest = max(window_from, now_ts + int(ADVANCE_NOTICE.total_seconds()))
    buffer = int(BUFFER.total_seconds())
    duration = int(template.duration.total_seconds())
    live = [h for h in holds if h.until > now]
    mine = {_ts(h.start): h.slot_id for h in live if viewer_id is not None and h.holder_id == viewer_id}
    booked = sorted({_ts(a) for a in appointment_starts})
    # Another holder's hold blocks, even at a start the viewer also holds (one row holds one
    # holder in the database, but the rule must not depend on it).
    blockers = sorted([*booked, *(_ts(h.start) for h in live if viewer_id is None or h.holder_id != viewer_id)])
    busy_intervals = sorted((_ts(b.start), _ts(b.end)) for b in busy)

    available: dict[date, list[tuple[int, int, uuid.UUID | None]]] = {}
    turned_off: list[tuple[int, int]] = []
    for slot in explicit:
        if slot.is_available:
            available.setdefault(slot.start.astimezone(tz).date(), []).append(
                (_ts(slot.start), _ts(slot.end), slot.slot_id))
        else:
            turned_off.append((_ts(slot.start), _ts(slot.end)))

    found: list[tuple[int, int, bool, bool, uuid.UUID | None, bool]] = []
    for day in _local_days(tz, window_start, window_end):
        if day in available:
            candidates = sorted(available[day], key=lambda c: c[0])
        else:
            candidates = [(t, t + duration, None) for t in map(_ts, _day_template(tz, day, template))]
            if turned_off:
                candidates = [c for c in candidates if not _overlaps(turned_off, c[0], c[1])]
        for start, end, slot_id in candidates:
            if start < earliest or start >= window_to:
                continue
            if _near(blockers, start, buffer) or (busy_intervals and _overlaps(busy_intervals, start, end)):
                continue
            if start in mine:
                found.append((start, end, True, False, slot_id or mine[start], True))
            else:
                found.append((start, end, True, False, slot_id, False))
        if wanted is not None and len(found) >= wanted:
            window_to = min(window_to, _ts(_local(day + timedelta(days=1), time(0), tz)))
            break

    lower = max(window_from, now_ts)
    found.extend((t, t + duration, False, True, None, False) for t in booked if lower <= t < window_to)
    found.sort(key=lambda f: f[0])
    return [Availability(_utc(s), _utc(e), avail, is_booked, slot_id, held)
            for s, e, avail, is_booked, slot_id, held in found]


def next_free(availability: Iterable[Availability], n: int) -> list[Availability]:
    """The first `n` bookable entries."""
    found: list[Availability] = []
    for entry in availability:
        if entry.is_available:
            found.append(entry)
            if len(found) == n:
                break
    return found
