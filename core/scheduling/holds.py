"""Slot holds (SPEC §3 `POST /api/slots/hold`): atomic in PostgreSQL, mirrored in Redis.

PostgreSQL is the source of truth: a per-doctor advisory lock serialises holders (and bookers,
whose guard takes the same lock), the engine re-checks the start under that lock, and one
conditional upsert takes the slot only if it is free, expired or already ours. Redis keeps
`slot_holds:<slotId>` (TTL 900 s) as a mirror for other processes; if Redis is down, holds work.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from core.actor import SYSTEM, Actor
from core.db import pipelined, pipelined_unit, unit_of_work
from core.errors import Forbidden, NotFound, SlotConflict, TimeWindow
from core.i18n import N_
from core.models import Slot
from core.scheduling.calendars import TEMPLATE_SOURCE, calendars_from_rows, load_calendars, load_range
from core.scheduling.engine import ADVANCE_NOTICE

HOLD_TTL = timedelta(minutes=15)
log = logging.getLogger(__name__)

# One statement: take the slot only if it is free, expired or already ours, and only then give
# back this patient's other hold with the doctor (one hold per doctor) — a refused take writes
# nothing, so the hold's COMMIT can ride in the same round trip (`core.db.PipelinedUnit`).
# psycopg placeholders: it is sent with the reading of the calendar changes it made.
_TAKE = """
    WITH taken AS (
        INSERT INTO slots (doctor_id, start_at, end_at, is_available, source, locked_until, locked_by)
        VALUES (%(doctor)s, %(start)s, %(end)s, true, %(source)s, %(until)s, %(me)s)
        ON CONFLICT (doctor_id, start_at) DO UPDATE
           SET locked_until = EXCLUDED.locked_until, locked_by = EXCLUDED.locked_by
         WHERE slots.is_available
           AND (slots.locked_by IS NULL OR slots.locked_until <= %(now)s OR slots.locked_by = EXCLUDED.locked_by)
        RETURNING id, locked_until
    ), released AS (
        UPDATE slots SET locked_by = NULL, locked_until = NULL
         WHERE doctor_id = %(doctor)s AND locked_by = %(me)s AND start_at <> %(start)s
           AND EXISTS (SELECT FROM taken)
        RETURNING id
    )
    SELECT taken.id, taken.locked_until, ARRAY(SELECT id FROM released) AS released FROM taken
"""
# The doctor's calendar for a hold's check, read in the one statement that also sets the RLS
# context, confirms a token's session and takes the doctor's lock (`PipelinedUnit.begin_within`,
# migration 0013b): the calendar is read once the lock is granted.
_LOCKED_CALENDAR = ("SELECT * FROM hold_calendar(%(u)s, %(r)s, %(n)s, %(k)s, %(s)s, %(lazy)s, "
                    "%(doctor)s, %(start)s, %(end)s, %(now)s)")


@dataclass(frozen=True)
class SlotHold:
    slot_id: uuid.UUID
    doctor_id: uuid.UUID
    start: datetime
    end: datetime
    locked_until: datetime


class HoldMirror:
    """Redis mirror of holds, the runtime's (`Runtime.holds`); the unit of work updates it after
    each commit that took or freed a hold. Every call is best effort: PostgreSQL already decided."""

    def __init__(self, client: redis.Redis | None):
        self.client = client

    @staticmethod
    def key(slot_id: uuid.UUID) -> str:
        return f"slot_holds:{slot_id}"

    def apply(self, freed: list[uuid.UUID], taken: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        """What a transaction freed and took, in one round trip (nothing to do: none)."""
        if self.client is None or not (freed or taken):
            return

        def both(client):
            pipe = client.pipeline(transaction=False)
            self.queue(pipe, freed, taken)
            pipe.execute()

        self._run(both)

    def queue(self, pipe, freed: list[uuid.UUID], taken: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        """The mirror's commands, added to `pipe` (the hold sends them with the cache's invalidation)."""
        if freed:
            pipe.delete(*(self.key(s) for s in freed))
        for slot_id, holder in taken:
            pipe.set(self.key(slot_id), str(holder), ex=int(HOLD_TTL.total_seconds()))

    def send(self, pipe) -> None:
        """Send a pipeline carrying the mirror's commands (best effort, like every mirror call)."""
        self._run(lambda _client: pipe.execute())

    def _run(self, action) -> None:
        if self.client is None:
            return
        try:
            action(self.client)
        except (redis.RedisError, OSError) as exc:
            log.warning("slot hold mirror unavailable", extra={"error": type(exc).__name__})


def doctor_lock_key(doctor_id: uuid.UUID) -> str:
    """The same per-doctor lock as the double-booking trigger: holders and bookers take turns."""
    return f"doktu:doctor:{doctor_id}"


def lock_doctor(session: Session, doctor_id: uuid.UUID) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": doctor_lock_key(doctor_id)})


def take_hold(session: Session, actor: Actor, doctor_id: uuid.UUID, start: datetime,
              now: datetime) -> tuple[SlotHold, list[uuid.UUID]]:
    """Inside the caller's transaction (create-pending's, a hold named by slot id): lock the
    doctor, re-check the start with the engine, take the slot. Returns the hold and the slots
    given back (the patient's previous hold)."""
    _check_notice(start, now)
    lock_doctor(session, doctor_id)
    calendar = load_calendars(session, [doctor_id], start, start + timedelta(seconds=1), now).get(doctor_id)
    entry = _free_entry(calendar, actor, start, now)
    taken = claim_slot(session, doctor_id, start, entry.end, actor.user_id, now + HOLD_TTL, now)
    if taken is None:
        raise SlotConflict(N_("This time is no longer available. Please pick another."))
    return SlotHold(taken.id, doctor_id, start, entry.end, taken.locked_until), list(taken.released)


def claim_slot(session: Session, doctor_id: uuid.UUID, start: datetime, end: datetime, holder: uuid.UUID,
               until: datetime, now: datetime):
    """The hold itself, under the doctor's lock the caller took after checking the start with the
    engine: take the slot for `holder` until `until` if it is free, expired or already theirs
    (giving back their other hold with the doctor). A row (id, locked_until, released), or None.
    The waitlist holds an offered start for its waiter with it (SPEC §17). One round trip, which
    also reads the calendar change the statement made (the commit then needs no statement for it)."""
    rows = pipelined(session, _take(doctor_id, start, end, holder, until, now), changes=True)[0]
    return rows[0] if rows else None


def _take(doctor_id: uuid.UUID, start: datetime, end: datetime, holder: uuid.UUID, until: datetime,
          now: datetime) -> tuple[str, dict]:
    return _TAKE, {"doctor": doctor_id, "start": start, "end": end, "source": TEMPLATE_SOURCE,
                   "until": until, "me": holder, "now": now}


def require_patient(actor: Actor) -> None:
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Only patients can hold a slot."))


def hold_slot(actor: Actor, *, doctor_id: uuid.UUID | None = None, start: datetime | None = None,
              slot_id: uuid.UUID | None = None) -> SlotHold:
    """Hold a free start for 15 minutes for a patient (SPEC §3). Re-holding your own hold renews
    it; a patient holds at most one slot per doctor (a new hold releases the previous one)."""
    require_patient(actor)
    now = clock.now()
    if slot_id is None and doctor_id is not None and start is not None:
        return _hold_start(actor, doctor_id, start, now)
    with unit_of_work(actor) as uow:  # named by slot id: read the slot first, then as a start
        session = uow.session
        if slot_id is not None:
            row = session.get(Slot, slot_id)
            if row is None:
                raise NotFound(N_("No such slot."))
            doctor_id, start = row.doctor_id, row.start_at
        if doctor_id is None or start is None:
            raise NotFound(N_("Name a slot, or a doctor and a start time."))
        hold, released = take_hold(session, actor, doctor_id, start, now)
        uow.holds_freed(released)
        uow.hold_taken(hold.slot_id, actor.user_id)
    return hold


def _hold_start(actor: Actor, doctor_id: uuid.UUID, start: datetime, now: datetime) -> SlotHold:
    """The usual hold, named by doctor and start, in two round trips (issue 21): BEGIN, the RLS
    context with the doctor's lock, then the doctor's calendar (read once the lock is granted);
    the engine checks the start; then the take, the change record and COMMIT. A start less than
    60 minutes away is refused before any round trip.

    The COMMIT does not wait for the disk (`durable=False`): a hold is 15 minutes of a start and
    no money, and whatever follows it (create-pending, payment) runs in durable transactions that
    check the slot again under the doctor's lock — a hold forgotten by a crash of PostgreSQL
    (at most its last ~0.6 s) is a patient asked to pick again, never a double booking."""
    _check_notice(start, now)
    low, high = load_range(start, start + timedelta(seconds=1))
    with pipelined_unit(actor, durable=False) as unit:
        rows = unit.begin_within(doctor_lock_key(doctor_id), (_LOCKED_CALENDAR, {
            "doctor": doctor_id, "start": low, "end": high, "now": now}))
        calendar = calendars_from_rows(rows, now).get(doctor_id)
        entry = _free_entry(calendar, actor, start, now)
        # The take writes only this doctor's slots: their calendar is the one to drop from the cache.
        taken = unit.commit(_take(doctor_id, start, entry.end, actor.user_id, now + HOLD_TTL, now),
                            changes=[doctor_id])[0]
        if not taken:  # taken in between by no one (we hold the lock): the engine and the row disagree
            unit.changed = []  # the take wrote nothing: no calendar to drop
            raise SlotConflict(N_("This time is no longer available. Please pick another."))
        unit.holds_freed(taken[0].released)
        unit.hold_taken(taken[0].id, actor.user_id)
    return SlotHold(taken[0].id, doctor_id, start, entry.end, taken[0].locked_until)


def _check_notice(start: datetime, now: datetime) -> None:
    if start - now < ADVANCE_NOTICE:
        raise TimeWindow(N_("Consultations can be booked up to 60 minutes before they start."))


def _free_entry(calendar, actor: Actor, start: datetime, now: datetime):
    """The engine's entry for `start` if it is free for `actor` (the check both hold paths make
    under the doctor's lock); NotFound without a calendar, SlotConflict when it is not free."""
    if calendar is None:
        raise NotFound(N_("No such doctor."))
    # Every free start is accepted, not only the offered rhythm (engine): a hold replaces the
    # patient's previous one, and a start between two offered ones breaks no spec rule.
    offered = calendar.availability(start, start + timedelta(seconds=1), now, actor.user_id, rhythm=False)
    entry = next((a for a in offered if a.start == start and a.is_available), None)
    if entry is None:
        raise SlotConflict(N_("This time is no longer available. Please pick another."))
    return entry


def release_hold(actor: Actor, slot_id: uuid.UUID) -> None:
    """Give a held slot back (the patient changed their mind)."""
    with unit_of_work(actor) as uow:
        released = uow.session.execute(
            text("""UPDATE slots SET locked_by = NULL, locked_until = NULL
                     WHERE id = :slot AND locked_by = :me RETURNING id"""),
            {"slot": slot_id, "me": actor.user_id},
        ).scalar()
        if released is None:
            raise NotFound(N_("You hold no such slot."))
        uow.holds_freed([released])


def unlock_stale_slots() -> int:
    """Job every 60 s (SPEC §3): release every hold whose 15 minutes are over, and cancel the
    unpaid pending appointments made on them, so their time is offered again."""
    from core.booking import waitlist  # booking builds on scheduling: imported where it is needed

    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        released = uow.session.execute(
            text("""UPDATE slots SET locked_by = NULL, locked_until = NULL
                     WHERE locked_until <= :now RETURNING id, doctor_id, start_at"""), {"now": now}).all()
        cancelled = uow.session.execute(
            text("""UPDATE appointments
                       SET status = 'cancelled', cancelled_at = :now, updated_at = :now,
                           cancel_reason = 'Hold expired before payment'
                     WHERE status = 'pending' AND hold_expires_at <= :now
                 RETURNING slot_id, doctor_id, start_at"""), {"now": now}).all()
        # An expired hold frees its time: the waitlist's first waiter is offered it (SPEC §17).
        by_doctor: dict[uuid.UUID, set[datetime]] = {}
        for row in [*released, *cancelled]:
            by_doctor.setdefault(row.doctor_id, set()).add(row.start_at)
        for doctor_id, starts in by_doctor.items():
            waitlist.owe_offers(uow, doctor_id, sorted(starts))
        uow.holds_freed([row.id for row in released])
    return len(released)
