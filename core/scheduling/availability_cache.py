"""Per-doctor availability cache in Redis (issue 21), exactly invalidated.

What is cached is a doctor's *calendar* — the engine's inputs for a range of whole UTC days (slot
rows, holds with their expiry, busy times, time zone, online, weekly hours) — never the engine's
answer: the answer depends on "now" (60-minute notice, holds running out) and on who looks (their
own hold), so the pure engine runs on every request over the cached inputs (well under a
millisecond per doctor-week).

Keys: one hash per doctor, `availability:<doctor id>`, one field per loaded range
(`<from>/<to>` as epoch seconds), TTL `TTL`, and a change counter per doctor
(`availability:changes:<doctor id>`). Invalidation points:
- every transaction that writes slots, appointments, external busy times or a doctor's time zone,
  online state, weekly hours or review status names the doctor in `app.calendar_changed` (the
  note_calendar_change() trigger, migration 0011a); the unit of work reads it before committing
  and, after the commit, calls `invalidate()` (through `Runtime.calendars_changed`, in whichever
  process committed: web, worker or CLI), which deletes those doctors' hashes and counts the
  change. So a service call that booked, held, released or changed a calendar has dropped the
  cache before it returns;
- a calendar that changes by itself (a pending appointment's hold running out) carries
  `valid_until` and is not used past it;
- a fill races no change: it WATCHes the doctor's hash before reading PostgreSQL and writes only
  if nobody deleted it meanwhile (a change committed during the read aborts the write; one
  committed after the write deletes it).
Writes outside any unit of work (the seed, raw SQL in a shell) are seen within `TTL`.
Redis being down or slow only costs the cache: every call falls back to PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import redis

from core import db, runtime
from core.scheduling.calendars import DoctorCalendar, calendar_rows, calendars_from_rows, load_calendars, load_range
from core.scheduling.engine import Busy, ExplicitSlot, Hold
from core.scheduling.weekly import template_for

log = logging.getLogger(__name__)

TTL = timedelta(seconds=120)
DECODED_MEMO = 512  # calendars kept decoded in the process, by doctor and range (a few MB at most)
CHANGES_TTL = 3600  # seconds; far longer than any fill takes
PREFIX = "availability:"
GENERATION = f"{PREFIX}generation"  # counts every change of any calendar (views built from many)


def _key(doctor_id: uuid.UUID) -> str:
    return f"{PREFIX}{doctor_id}"


def _changes_key(doctor_id: uuid.UUID) -> str:
    """Counts a doctor's changes: a fill WATCHes it too, since deleting a hash that does not exist
    yet would not abort a WATCH."""
    return f"{PREFIX}changes:{doctor_id}"


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def encode(calendar: DoctorCalendar, weekly_hours: object) -> bytes:
    return json.dumps({
        "tz": calendar.tz.key, "online": calendar.online, "weekly": weekly_hours,
        "explicit": [[str(s.slot_id) if s.slot_id else None, _ts(s.start), _ts(s.end), s.is_available]
                     for s in calendar.explicit],
        "holds": [[_ts(h.start), str(h.holder_id), _ts(h.until), str(h.slot_id) if h.slot_id else None]
                  for h in calendar.holds],
        "appointments": [_ts(a) for a in calendar.appointment_starts],
        "busy": [[_ts(b.start), _ts(b.end)] for b in calendar.busy],
        "validUntil": _ts(calendar.valid_until) if calendar.valid_until else None,
    }, separators=(",", ":")).encode()


def decode(doctor_id: uuid.UUID, raw: bytes) -> DoctorCalendar:
    data = json.loads(raw)
    return DoctorCalendar(
        doctor_id, ZoneInfo(data["tz"]), data["online"],
        explicit=[ExplicitSlot(uuid.UUID(i) if i else None, _utc(s), _utc(e), a) for i, s, e, a in data["explicit"]],
        holds=[Hold(_utc(s), uuid.UUID(h), _utc(u), uuid.UUID(i) if i else None) for s, h, u, i in data["holds"]],
        appointment_starts=[_utc(a) for a in data["appointments"]],
        busy=[Busy(_utc(s), _utc(e)) for s, e in data["busy"]],
        template=template_for(data["weekly"]),
        valid_until=_utc(data["validUntil"]) if data["validUntil"] else None,
    )


def day_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The load range of a window, widened to whole UTC days so that windows starting "now" share
    one cached entry all day (the engine cuts the window out of it)."""
    low, high = load_range(start, end)
    low = low.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    high_day = high.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return low, (high_day if high_day == high else high_day + timedelta(days=1))


class AvailabilityCache:
    """Calendars by doctor, read-through; `client=None` (or a test's injected sessions) disables it."""

    def __init__(self, client: redis.Redis | None, *, enabled_in_tests: bool = False):
        self.client = client
        self.enabled_in_tests = enabled_in_tests
        # (doctor, range) -> (the cached bytes, their calendar). Redis stays the truth — every call
        # still reads the bytes, so invalidation is exact —, but the same bytes are not parsed
        # again: decoding was a quarter of a cache hit's engine work (issue 21). Calendars are
        # only read once built (the engine copies what it sorts), so threads may share them.
        self._decoded: dict[tuple[uuid.UUID, str], tuple[bytes, DoctorCalendar]] = {}

    def _decode(self, doctor_id: uuid.UUID, field: str, raw: bytes) -> DoctorCalendar:
        known = self._decoded.get((doctor_id, field))
        if known is not None and known[0] == raw:
            return known[1]
        calendar = decode(doctor_id, raw)
        if len(self._decoded) >= DECODED_MEMO:
            self._decoded.clear()  # ranges move with the day: start over rather than track age
        self._decoded[(doctor_id, field)] = (raw, calendar)
        return calendar

    @property
    def active(self) -> bool:
        if self.client is None:
            return False
        # A test's rolled-back transaction must not fill a cache other tests read; the cache's own
        # tests switch it on.
        return self.enabled_in_tests or not db.current().factory_injected

    def calendars(self, doctor_ids: list[uuid.UUID], start: datetime, end: datetime,
                  now: datetime) -> dict[uuid.UUID, DoctorCalendar]:
        """The calendars of approved doctors for [start, end), from Redis where fresh, else from
        PostgreSQL in one statement (and then cached)."""
        if not self.active:
            return load_calendars(None, doctor_ids, start, end, now)
        low, high = day_range(start, end)
        field = f"{_ts(low)}/{_ts(high)}"
        found: dict[uuid.UUID, DoctorCalendar] = {}
        try:
            pipe = self.client.pipeline(transaction=False)
            for doctor_id in doctor_ids:
                pipe.hget(_key(doctor_id), field)
            cached = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            log.warning("availability cache unavailable", extra={"error": type(exc).__name__})
            return load_calendars(None, doctor_ids, start, end, now)
        missing = []
        for doctor_id, raw in zip(doctor_ids, cached, strict=True):
            calendar = self._decode(doctor_id, field, raw) if raw else None
            if calendar is None or (calendar.valid_until is not None and calendar.valid_until <= now):
                missing.append(doctor_id)
            else:
                found[doctor_id] = calendar
        if missing:
            found.update(self._fill(missing, low, high, field, now))
        return {d: found[d] for d in doctor_ids if d in found}

    def _fill(self, doctor_ids: list[uuid.UUID], low: datetime, high: datetime, field: str,
              now: datetime) -> dict[uuid.UUID, DoctorCalendar]:
        rows = None
        try:
            with self.client.pipeline(transaction=True) as pipe:
                # Before PostgreSQL: a change committed meanwhile aborts the write.
                pipe.watch(*(_key(d) for d in doctor_ids), *(_changes_key(d) for d in doctor_ids))
                rows = _read_rows(doctor_ids, low, high, now)
                pipe.multi()
                for doctor_id, (calendar, weekly) in rows.items():
                    pipe.hset(_key(doctor_id), field, encode(calendar, weekly))
                    pipe.expire(_key(doctor_id), int(TTL.total_seconds()))
                pipe.execute()
        except redis.WatchError:
            pass  # a calendar changed while we read: serve what we read, cache nothing
        except (redis.RedisError, OSError) as exc:
            log.warning("availability cache unavailable", extra={"error": type(exc).__name__})
        if rows is None:
            rows = _read_rows(doctor_ids, low, high, now)
        return {d: calendar for d, (calendar, _) in rows.items()}

    def invalidate(self, doctor_ids: list[uuid.UUID]) -> None:
        if self.client is None or not doctor_ids:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            self.queue_invalidation(pipe, doctor_ids)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            log.warning("availability cache invalidation failed", extra={"error": type(exc).__name__})

    @staticmethod
    def queue_invalidation(pipe, doctor_ids: list[uuid.UUID]) -> None:
        """The commands of `invalidate`, added to a pipeline another write sends (the hold's)."""
        pipe.delete(*(_key(d) for d in doctor_ids))
        for doctor_id in doctor_ids:
            pipe.incr(_changes_key(doctor_id))
            pipe.expire(_changes_key(doctor_id), CHANGES_TTL)
        pipe.incr(GENERATION)


def _read_rows(doctor_ids: list[uuid.UUID], low: datetime, high: datetime,
               now: datetime) -> dict[uuid.UUID, tuple[DoctorCalendar, object]]:
    """The calendars of [low, high) exactly (no further widening), each with its raw weekly hours."""
    rows = calendar_rows(None, doctor_ids, low, high, now)
    calendars = calendars_from_rows(rows, now)
    return {row.doctor_id: (calendars[row.doctor_id], row.weekly_hours) for row in rows}


def current() -> AvailabilityCache:
    """The process's cache: the runtime's (`core.runtime.bootstrap` builds it on the runtime's Redis;
    a test swaps the field)."""
    return runtime.current().availability


def generation() -> int | None:
    """How many calendar changes Redis has seen; None without Redis (then nothing may be kept)."""
    client = current().client
    if client is None:
        return None
    try:
        return int(client.get(GENERATION) or 0)
    except (redis.RedisError, OSError):
        return None
