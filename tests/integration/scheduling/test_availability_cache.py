"""The per-doctor availability cache (issue 21): served from Redis, never stale after a change.

Each change below is made through the service a patient, a doctor or a job uses; right after it
returns, what availability offers (through the cache) must equal what PostgreSQL says now.
"""

from datetime import timedelta

import pytest
import redis

from core import clock, runtime
from core.actor import ANONYMOUS, SYSTEM
from core.booking.changes import cancel
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.models import Appointment, ExternalBusy
from core.scheduling import availability_cache
from core.scheduling.availability import doctor_availability
from core.scheduling.availability_cache import AvailabilityCache
from core.scheduling.calendars import load_calendars
from core.scheduling.doctor_slots import set_online, set_slot
from core.scheduling.holds import hold_slot, release_hold, unlock_stale_slots
from tests.integration.scheduling.conftest import paris


@pytest.fixture
def cache(app, monkeypatch):
    """The runtime's cache on the test's Redis, switched on although sessions are injected."""
    made = AvailabilityCache(app.extensions["doktu"].redis, enabled_in_tests=True)
    monkeypatch.setattr(runtime.current(), "availability", made)
    return made


def offered(doctor_id, viewer=ANONYMOUS):
    return [a.start for a in doctor_availability(viewer, doctor_id, paris(3, 0), paris(5, 0)).slots
            if a.is_available]


def truth(doctor_id, viewer=ANONYMOUS):
    """What PostgreSQL says now, bypassing the cache."""
    start, end, now = paris(3, 0), paris(5, 0), clock.now()
    calendar = load_calendars(None, [doctor_id], start, end, now)[doctor_id]
    return [a.start for a in calendar.availability(start, end, now, viewer.user_id) if a.is_available]


def cached_fields(cache, doctor_id) -> int:
    return cache.client.hlen(f"availability:{doctor_id}")


def test_the_second_read_comes_from_redis_not_postgresql(cache, doctor, monkeypatch):
    first = offered(doctor.doctor.id)
    assert cached_fields(cache, doctor.doctor.id) == 1

    def no_database(*_args, **_kwargs):
        raise AssertionError("read PostgreSQL although the calendar was cached")

    monkeypatch.setattr(availability_cache, "calendar_rows", no_database)
    assert offered(doctor.doctor.id) == first


# Each change returns (a start, whether it is offered after the change). Starts that must come back
# are on the day's 45-minute rhythm (10:00, 10:45 … 13:00 … 16:00 local).
def _hold(doctor, make_user, _time):
    patient = make_user("patient")
    hold_slot(patient.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    return paris(3, 14), False


def _release(doctor, make_user, _time):
    patient = make_user("patient")
    held = hold_slot(patient.actor, doctor_id=doctor.doctor.id, start=paris(3, 13))
    assert paris(3, 13) not in offered(doctor.doctor.id)  # cached while held
    release_hold(patient.actor, held.slot_id)
    return paris(3, 13), True


def _book(doctor, make_user, _time):
    patient = make_user("patient")
    create_pending(patient.actor, doctor.doctor.id, paris(3, 16))
    return paris(3, 16), False


def _cancel(doctor, make_user, _time):
    patient = make_user("patient")
    pending = create_pending(patient.actor, doctor.doctor.id, paris(3, 16))
    assert paris(3, 16) not in offered(doctor.doctor.id)  # cached while booked
    cancel(patient.actor, pending.id, "Changed my mind")
    return paris(3, 16), True


def _turn_off(doctor, make_user, _time):
    set_slot(doctor.actor, paris(3, 16), is_available=False)
    return paris(3, 16), False


def _turn_on(doctor, make_user, _time):
    set_slot(doctor.actor, paris(3, 7), is_available=True)  # an explicit slot: that day offers only it
    return paris(3, 7), True


def _offline(doctor, make_user, _time):
    set_online(doctor.actor, False)
    return paris(3, 14), False


def _external_busy(doctor, make_user, _time):
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(ExternalBusy(doctor_id=doctor.doctor.id, external_id="cal-1",
                                     start_at=paris(3, 18), end_at=paris(3, 19)))
    return paris(3, 18), False


def _hold_runs_out(doctor, make_user, time_machine):
    patient = make_user("patient")
    hold_slot(patient.actor, doctor_id=doctor.doctor.id, start=paris(3, 13))
    assert paris(3, 13) not in offered(doctor.doctor.id)  # cached while held
    time_machine.move_to(clock.now() + timedelta(minutes=16), tick=False)
    unlock_stale_slots()
    return paris(3, 13), True


CHANGES = [_hold, _release, _book, _cancel, _turn_off, _turn_on, _offline, _external_busy, _hold_runs_out]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_no_stale_slot_is_offered_after_a_change(cache, doctor, make_user, time_machine, change):
    offered(doctor.doctor.id)
    assert cached_fields(cache, doctor.doctor.id) == 1
    moment, offered_after = change(doctor, make_user, time_machine)
    after = offered(doctor.doctor.id)
    assert after == truth(doctor.doctor.id)
    assert (moment in after) is offered_after


def test_a_change_committed_while_the_cache_is_filled_is_not_cached(cache, doctor, monkeypatch):
    real = availability_cache.calendar_rows

    def read_then_someone_books(*args, **kwargs):
        rows = real(*args, **kwargs)
        cache.invalidate([doctor.doctor.id])  # what a concurrent booking's commit does
        return rows

    monkeypatch.setattr(availability_cache, "calendar_rows", read_then_someone_books)
    offered(doctor.doctor.id)
    assert cached_fields(cache, doctor.doctor.id) == 0


def test_a_pending_booking_blocks_only_until_its_hold_ends(cache, doctor, make_user, time_machine):
    patient = make_user("patient")
    with unit_of_work(SYSTEM) as uow:  # an abandoned checkout: no job has cancelled it yet
        uow.session.add(Appointment(doctor_id=doctor.doctor.id, patient_id=patient.patient.id,
                                    start_at=paris(3, 16), end_at=paris(3, 16, 30), status="pending",
                                    hold_expires_at=clock.now() + timedelta(minutes=15)))
    assert paris(3, 16) not in offered(doctor.doctor.id)  # 16:00 is on the day's 45-minute rhythm
    time_machine.move_to(clock.now() + timedelta(minutes=16), tick=False)
    assert paris(3, 16) in offered(doctor.doctor.id)


def test_without_redis_availability_is_read_from_postgresql(app, doctor, monkeypatch):
    down = AvailabilityCache(redis.Redis(port=1, socket_connect_timeout=0.2), enabled_in_tests=True)
    monkeypatch.setattr(runtime.current(), "availability", down)
    assert offered(doctor.doctor.id) == truth(doctor.doctor.id)


def test_a_read_only_unit_of_work_asks_nothing_about_changes(db, doctor):
    from sqlalchemy import event

    from core import db as core_db

    seen: list[str] = []
    engine = core_db.current().engine
    listener = lambda _c, _cu, statement, *_: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with unit_of_work(SYSTEM) as uow:
            uow.session.get(type(doctor.doctor), doctor.doctor.id)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert not any("calendar_changed" in s for s in seen)


@pytest.fixture
def home_grid(cache, monkeypatch):
    """The anonymous home grid cache switched on; counts the batches it computes."""
    from portals.public import pages

    calls: list[int] = []
    real = pages.next_free_slots

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "next_free_slots", counted)
    monkeypatch.setattr(pages.home_grid, "enabled_in_tests", True)
    pages.home_grid.clear()
    yield calls
    pages.home_grid.clear()


def test_the_home_grid_is_kept_60_seconds_for_anonymous_visitors(client, doctor, home_grid, time_machine):
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    assert len(home_grid) == 1
    time_machine.move_to(clock.now() + timedelta(seconds=61), tick=False)
    client.get("/")
    assert len(home_grid) == 2


def test_the_home_grid_is_recomputed_as_soon_as_a_calendar_changes(client, doctor, make_user, home_grid):
    first = client.get("/").get_data(as_text=True)
    patient = make_user("patient")
    shown = next_free_slots_of(doctor)
    hold_slot(patient.actor, doctor_id=doctor.doctor.id, start=shown)
    again = client.get("/").get_data(as_text=True)
    assert len(home_grid) == 2
    assert first != again


def test_a_signed_in_patient_gets_a_fresh_grid(client, doctor, make_user, login, home_grid):
    patient = make_user("patient")
    login(patient.email)
    client.get("/")
    client.get("/")
    assert len(home_grid) == 2


def next_free_slots_of(doctor):
    from core.scheduling.availability import next_free_slots

    return next_free_slots(ANONYMOUS, [doctor.doctor.id], count=1)[doctor.doctor.id][0].start
