"""The pure availability engine (SPEC §3): plain values in, bookable starts out.

No I/O, no framework: the service layer loads rows and calls `unified_availability`.
All instants are timezone-aware; days and working hours are the doctor's local ones.

One slot rule for every screen (issue 22): `classify_day` gives every candidate start of a local
day (each quarter hour, real time from local midnight) a verdict — offered, or why not — and the
patient's list (`unified_availability`), the hold and reschedule checks and the doctor's calendar
(`core.scheduling.doctor_calendar`) all read those verdicts.

The rhythm (issue 24): a start is *free* when it is open and clear of bookings, other patients'
holds and external busy times. Patients are *offered* the free starts that can all be booked
together: walking the day in order, a free start at least 45 minutes (the buffer: a 30-minute
consultation and a 15-minute break) after the previous offered one, booked or held time. With
nothing booked that is 10:00, 10:45, 11:30 … 20:30 (15 starts); a booking re-anchors the rhythm
45 minutes after it (a 14:00 booking: 14:45, 15:30 …). The walk covers the whole day, past and
notice included, so the times do not slide as the clock moves. Booking an offered start leaves
every other offered start offered. A free start between two offered ones is still accepted by a
hold (the spec's rules allow it); it is just not shown.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

BUFFER = timedelta(minutes=45)  # no start closer than this to an active appointment's start
ADVANCE_NOTICE = timedelta(minutes=60)  # nothing bookable sooner than this from now


QUARTER = timedelta(minutes=15)  # the candidate grid: every quarter hour of a day, in real time


class Verdict(StrEnum):
    """What the rule says about one candidate start. Precedence when several apply: the first that
    fits in this order (a closed start is closed before it is past)."""

    OFFERED = "offered"  # a patient is shown it and may book it
    OUTSIDE_HOURS = "outside_hours"  # not in the doctor's hours (or explicit slots) that day
    TURNED_OFF = "turned_off"  # the doctor turned this time off
    OFFLINE = "offline"  # the doctor is Offline: nothing is offered
    PAST = "past"  # already started
    NOTICE = "notice"  # less than 60 minutes from now
    BOOKED = "booked"  # an active appointment takes this time
    BUFFER = "buffer"  # within 45 minutes of an active appointment's start
    HELD = "held"  # within 45 minutes of a time a patient holds (is paying for)
    BUSY = "busy"  # busy in the doctor's external calendar
    RHYTHM = "rhythm"  # free, but less than 45 minutes after an offered start: not shown


CLOSED = frozenset({Verdict.OUTSIDE_HOURS, Verdict.TURNED_OFF})


class Candidate(NamedTuple):
    """One candidate start of a day and its verdict."""

    start: datetime
    end: datetime
    verdict: Verdict
    slot_id: uuid.UUID | None = None
    held_by_viewer: bool = False


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


def _overlaps(intervals: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in intervals)


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class _Rules:
    """What the rule needs for one doctor, prepared once per call: instants as whole epoch seconds
    (comparing aware datetimes costs an offset look-up each time, and this runs for every doctor on
    every page view)."""

    def __init__(self, *, tz: ZoneInfo, explicit: Sequence[ExplicitSlot], appointment_starts: Sequence[datetime],
                 busy: Sequence[Busy], holds: Sequence[Hold], now: datetime, viewer_id: uuid.UUID | None,
                 template: WorkingTemplate, online: bool, rhythm: bool):
        _aware(now, *appointment_starts, *(s.start for s in explicit), *(h.start for h in holds),
               *(b.start for b in busy))
        self.tz, self.template, self.online, self.rhythm = tz, template, online, rhythm
        self.now = _ts(now)
        self.earliest = self.now + int(ADVANCE_NOTICE.total_seconds())
        self.buffer = int(BUFFER.total_seconds())
        self.duration = int(template.duration.total_seconds())
        live = [h for h in holds if h.until > now]
        self.mine = {_ts(h.start): h.slot_id for h in live if viewer_id is not None and h.holder_id == viewer_id}
        self.booked = sorted({_ts(a) for a in appointment_starts})
        # Another holder's hold blocks, even at a start the viewer also holds (one row holds one
        # holder in the database, but the rule must not depend on it). In the offered rhythm the
        # viewer's own hold blocks its neighbours too (the viewer sees what everyone else sees, plus
        # their hold); in a hold or reschedule check it does not (a new hold replaces the old one).
        self.others = sorted(_ts(h.start) for h in live if viewer_id is None or h.holder_id != viewer_id)
        self.holds = sorted([*self.others, *self.mine]) if rhythm else self.others
        self.busy = sorted((_ts(b.start), _ts(b.end)) for b in busy)
        self.available: dict[date, list[tuple[int, int, uuid.UUID | None]]] = {}
        self.turned_off: list[tuple[int, int]] = []
        for slot in explicit:
            if slot.is_available:
                self.available.setdefault(slot.start.astimezone(tz).date(), []).append(
                    (_ts(slot.start), _ts(slot.end), slot.slot_id))
            else:
                self.turned_off.append((_ts(slot.start), _ts(slot.end)))

    def open_starts(self, day: date) -> list[tuple[int, uuid.UUID | None]]:
        """The starts the doctor's hours open on a local day, in order, with the explicit slot that
        starts there (if any). An explicit day opens the quarter hours inside its available slots
        (merged, so 09:00–09:30 and 09:30–10:00 open 09:15 too, as the template would); other days
        the template. A turned-off slot is never re-filled."""
        duration = self.duration
        if day in self.available:
            day_over = _ts(_local(day + timedelta(days=1), time(0), self.tz))
            slots = sorted(self.available[day], key=lambda slot: (slot[0], slot[1]))
            ids = {s: slot_id for s, _, slot_id in slots}
            found: list[tuple[int, uuid.UUID | None]] = []
            run_start, run_end = slots[0][0], slots[0][1]
            for s, e, _ in [*slots[1:], (None, None, None)]:
                if s is not None and s <= run_end:
                    run_end = max(run_end, e)
                    continue
                moment = run_start
                while moment + duration <= run_end and moment < day_over:  # a start belongs to its day
                    found.append((moment, ids.get(moment)))
                    moment += QUARTER_SECONDS
                if s is not None:
                    run_start, run_end = s, e
        else:
            found = [(t, None) for t in map(_ts, _day_template(self.tz, day, self.template))]
        if self.turned_off:
            found = [(t, i) for t, i in found if not _overlaps(self.turned_off, t, t + duration)]
        return found

    def judge(self, starts: Sequence[tuple[int, uuid.UUID | None]]) -> list[Verdict]:
        """The verdict of each open start of one day (in order). The rhythm walks the whole day,
        past included, so it does not slide as the clock moves."""
        verdicts: list[Verdict] = []
        last = -BIG  # the latest offered start of the walk (past ones count)
        buffer, duration, earliest, now = self.buffer, self.duration, self.earliest, self.now
        booked, others, holds, mine, busy, rhythm = (self.booked, self.others, self.holds, self.mine, self.busy,
                                                     self.rhythm)
        offered, offline = Verdict.OFFERED, not self.online
        for start, _ in starts:
            if offline:
                verdicts.append(Verdict.OFFLINE)
                continue
            gap = _gap(booked, start)
            if gap < duration:
                verdict = Verdict.BOOKED
            elif gap < buffer:
                verdict = Verdict.BUFFER
            elif start in mine:
                verdict = Verdict.HELD if _gap(others, start) < buffer else offered
            elif _gap(holds, start) < buffer:
                verdict = Verdict.HELD
            elif busy and _overlaps(busy, start, start + duration):
                verdict = Verdict.BUSY
            elif rhythm and start - last < buffer:
                verdict = Verdict.RHYTHM
            else:
                verdict = offered
            if verdict is offered:
                last = start
            if start < earliest:
                verdict = Verdict.PAST if start < now else Verdict.NOTICE
            verdicts.append(verdict)
        return verdicts


BIG = 1 << 62  # "no such instant": farther than any gap


def _gap(sorted_starts: Sequence[int], moment: int) -> int:
    """Seconds from `moment` to the nearest of `sorted_starts` (BIG if there are none)."""
    if not sorted_starts:
        return BIG
    i = bisect_left(sorted_starts, moment)
    after = sorted_starts[i] - moment if i < len(sorted_starts) else BIG
    before = moment - sorted_starts[i - 1] if i else BIG
    return min(after, before)


QUARTER_SECONDS = int(QUARTER.total_seconds())


def classify_day(*, tz: ZoneInfo, day: date, explicit: Sequence[ExplicitSlot], appointment_starts: Sequence[datetime],
                 busy: Sequence[Busy] = (), holds: Sequence[Hold] = (), online: bool = True, now: datetime,
                 viewer_id: uuid.UUID | None = None,
                 template: WorkingTemplate = DEFAULT_TEMPLATE) -> list[Candidate]:
    """Every candidate start of one local day — each quarter hour from local midnight to the next,
    in real time (92 on a spring-forward day, 100 on a fall-back day), plus any open start off that
    grid — with its verdict. `unified_availability` is the offered ones; the doctor's calendar
    colours the rest."""
    rules = _Rules(tz=tz, explicit=explicit, appointment_starts=appointment_starts, busy=busy, holds=holds,
                   now=now, viewer_id=viewer_id, template=template, online=online, rhythm=True)
    opened = rules.open_starts(day)
    judged = dict(zip((t for t, _ in opened), zip(opened, rules.judge(opened), strict=True), strict=True))
    day_from, day_to = _ts(_local(day, time(0), tz)), _ts(_local(day + timedelta(days=1), time(0), tz))
    duration = rules.duration
    grid = range(day_from, day_to, QUARTER_SECONDS)
    found: list[Candidate] = []
    for start in sorted({*grid, *judged}):
        if start in judged:
            (_, slot_id), verdict = judged[start]
            found.append(Candidate(_utc(start), _utc(start + duration), verdict, slot_id or rules.mine.get(start),
                                   verdict is Verdict.OFFERED and start in rules.mine))
        else:
            closed = _overlaps(rules.turned_off, start, start + duration)
            found.append(Candidate(_utc(start), _utc(start + duration),
                                   Verdict.TURNED_OFF if closed else Verdict.OUTSIDE_HOURS))
    return found


def unified_availability(*, tz: ZoneInfo, explicit: Sequence[ExplicitSlot],
                         appointment_starts: Sequence[datetime], busy: Sequence[Busy] = (),
                         holds: Sequence[Hold] = (), online: bool = True, now: datetime,
                         window_start: datetime, window_end: datetime, viewer_id: uuid.UUID | None = None,
                         template: WorkingTemplate = DEFAULT_TEMPLATE, rhythm: bool = True,
                         wanted: int | None = None) -> list[Availability]:
    """What a viewer may book with a doctor in [window_start, window_end) (SPEC §3): the offered
    starts of `classify_day` (with `rhythm=False`, every free start: what a hold or a reschedule
    accepts), and the booked appointments (is_booked) so a page can show them.

    - a local day with any explicit available slot opens only those; other days the template;
    - a slot the doctor turned off is never re-filled by the template;
    - no start within 45 min of an active appointment or of another viewer's live hold (a hold
      blocks its neighbours like a booking, so nobody picks a start that fails at payment);
    - nothing starts sooner than 60 min from now (exactly 60 is fine);
    - Cal.com busy intervals block what they overlap; an offline doctor offers nothing;
    - offered starts keep the 45-minute rhythm (module docstring).
    The rhythm of a day depends on the whole day: callers load its bookings and holds from local
    midnight, whatever the window.
    `wanted`: the caller needs only the first so many bookable starts (the home grid's next two):
    the walk stops after the local day that reaches them (later days are left out).
    """
    _aware(window_start, window_end)
    if not online or window_end <= window_start:
        return []
    rules = _Rules(tz=tz, explicit=explicit, appointment_starts=appointment_starts, busy=busy, holds=holds,
                   now=now, viewer_id=viewer_id, template=template, online=online, rhythm=rhythm)
    window_from, window_to = _ts(window_start), _ts(window_end)
    shown = (Verdict.OFFERED,) if rhythm else (Verdict.OFFERED, Verdict.RHYTHM)
    duration = rules.duration
    found: list[tuple[int, int, bool, bool, uuid.UUID | None, bool]] = []
    for day in _local_days(tz, window_start, window_end):
        opened = rules.open_starts(day)
        for (start, slot_id), verdict in zip(opened, rules.judge(opened), strict=True):
            if verdict not in shown or start < window_from or start >= window_to:
                continue
            if start in rules.mine:
                found.append((start, start + duration, True, False, slot_id or rules.mine[start], True))
            else:
                found.append((start, start + duration, True, False, slot_id, False))
        if wanted is not None and len(found) >= wanted:
            window_to = min(window_to, _ts(_local(day + timedelta(days=1), time(0), tz)))
            break

    lower = max(window_from, rules.now)
    found.extend((t, t + duration, False, True, None, False) for t in rules.booked if lower <= t < window_to)
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
