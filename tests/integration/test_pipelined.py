"""`core.db.pipelined` (issue 21): several statements in one round trip, with the semantics of
separate ones — rows as named tuples, errors as SQLAlchemy's, calendar changes read on the way."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError

from core import clock, runtime
from core import db as core_db
from core.actor import SYSTEM, Actor
from core.db import pipelined, unit_of_work
from core.errors import SlotConflict
from tests.resources import owner_connection


def test_rows_come_back_per_statement_by_name(db):
    with unit_of_work(SYSTEM) as uow:
        first, second, third = pipelined(uow.session, ("SELECT 1 AS one", {}),
                                         ("SELECT %(x)s::int + 1 AS two", {"x": 1}),
                                         ("SELECT n FROM generate_series(1, 3) n", {}))
    assert first[0].one == 1 and second[0].two == 2 and [r.n for r in third] == [1, 2, 3]


def test_the_rls_context_rides_with_a_read_and_applies_to_it(db, make_user):
    patient = make_user("patient")
    read = ("SELECT current_setting('app.user_id') AS who, current_setting('app.role') AS role", {})
    with core_db.pipelined_unit(patient.actor) as unit:
        row = unit.begin("doktu:test:pipelined", read)[0][0]
    assert (row.who, row.role) == (str(patient.user.id), "patient")


def test_an_error_is_sqlalchemys_and_the_unit_of_work_rolls_back(db):
    with pytest.raises(DataError), unit_of_work(SYSTEM) as uow:
        pipelined(uow.session, ("SELECT 1 AS ok", {}), ("SELECT 1 / 0 AS boom", {}))


def test_a_deadlock_in_a_pipeline_is_a_slot_conflict(db):
    """SQLSTATE 40P01 (another booker got there first) answers 409 whichever way it was sent."""
    with pytest.raises(SlotConflict), unit_of_work(Actor(uuid.uuid4(), "patient")) as uow:
        pipelined(uow.session, ("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$", {}))


def test_calendar_changes_read_in_the_pipeline_reach_the_commit(db, make_user, monkeypatch):
    """A write sent with `changes=True` is invalidated after the commit like any other, and a
    later write in the same transaction is still read at the commit."""
    doctor, other = make_user("doctor"), make_user("doctor")
    seen: list[list[uuid.UUID]] = []
    monkeypatch.setattr(runtime.current(), "calendar_listeners", [seen.append])
    with unit_of_work(SYSTEM) as uow:
        pipelined(uow.session, ("UPDATE doctors SET online = NOT online WHERE id = %(d)s",
                                {"d": doctor.doctor.id}), changes=True)
        uow.session.execute(core_db.text("UPDATE doctors SET online = NOT online WHERE id = :d"),
                            {"d": other.doctor.id})
    assert seen == [[doctor.doctor.id, other.doctor.id]]


# On the real pool (no `db` fixture: nothing injected), as in production.

def _idle_connections() -> set[int]:
    return {id(record.dbapi_connection) for record in core_db.current().engine.pool._pool.queue}


@pytest.fixture
def probe(app):
    """A sequence the app's role may advance: `nextval` is not rolled back, so it counts how many
    times a statement ran, whatever became of it."""
    name = f"read_once_probe_{uuid.uuid4().hex[:8]}"
    with owner_connection() as owner:
        owner.execute(f"CREATE SEQUENCE {name}")
        owner.execute(f"GRANT USAGE, SELECT ON SEQUENCE {name} TO doktu_app")
    yield name
    with owner_connection() as owner:
        owner.execute(f"DROP SEQUENCE {name}")


def _runs(name: str) -> int:
    with core_db.current().engine.connect() as conn:
        return conn.execute(text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {name}")).scalar()


def test_read_once_answers_a_refusal_like_any_statement_and_keeps_the_connection(app, probe):
    core_db.read_once("SELECT 1 AS one", {})
    pooled = _idle_connections()
    with pytest.raises(DataError):  # SQLAlchemy's, as every other statement's error
        core_db.read_once(f"SELECT 1 / (nextval('{probe}') * %(z)s) AS boom", {"z": 0})
    assert _runs(probe) == 1
    assert _idle_connections() == pooled  # a live connection is not thrown away


def test_read_once_does_not_repeat_a_cancelled_read(app, probe):
    """A statement timeout or a cancel is an OperationalError on a live connection: answered, not
    retried (which would double the slow statement under pressure)."""
    core_db.read_once("SELECT 1 AS one", {})
    pooled = _idle_connections()

    def cancel_it() -> None:
        with owner_connection() as owner:
            for _ in range(200):
                if owner.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                                 "WHERE state = 'active' AND query LIKE %s", (f"%nextval('{probe}')%pg_sleep%",)).fetchone():
                    return
                time.sleep(0.025)

    canceller = threading.Thread(target=cancel_it)
    canceller.start()
    with pytest.raises(OperationalError) as refused:
        core_db.read_once(f"SELECT nextval('{probe}') AS n, pg_sleep(5) AS s", {})
    canceller.join()
    assert core_db.sqlstate(refused.value) == "57014"
    assert _runs(probe) == 1
    assert _idle_connections() == pooled


def test_read_once_retries_a_dead_connection_once_on_a_renewed_pool(app):
    """PostgreSQL restarted: every pooled connection is dead. The read is retried once, and the
    retry does not meet the next dead connection: the pool's older ones are all renewed.

    The pool starts empty: a connection made before an earlier test's invalidation would be renewed
    on checkout without failing, the pool never invalidated, and a dead one left to the next test."""
    engine = core_db.current().engine
    engine.dispose()
    held = [engine.raw_connection() for _ in range(3)]
    for fairy in held:
        fairy.close()
    old = {record.dbapi_connection.info.backend_pid for record in engine.pool._pool.queue}  # every idle one
    assert len(old) >= 3
    with owner_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (list(old),))
        for _ in range(100):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (list(old),)).fetchone():
                break
            time.sleep(0.05)
    assert core_db.read_once("SELECT pg_backend_pid() AS pid", {})[0].pid not in old
    assert core_db.read_once("SELECT pg_backend_pid() AS pid", {})[0].pid not in old
    with core_db.pipelined_unit(SYSTEM) as unit:  # a write, which is not retried, meets no dead one
        assert unit.begin("doktu:test:renewed", ("SELECT pg_backend_pid() AS pid", None))[0][0].pid not in old


def test_what_a_pipelined_unit_committed_is_mirrored_even_if_the_caller_raises_after(app, committed_clinic,
                                                                                   monkeypatch):
    clinic = committed_clinic(0)
    seen: list[list[uuid.UUID]] = []
    monkeypatch.setattr(runtime.current(), "calendar_listeners", [seen.append])
    with pytest.raises(RuntimeError), core_db.pipelined_unit(SYSTEM) as unit:
        unit.begin("doktu:test:after-commit")
        unit.commit(("UPDATE doctors SET online = NOT online WHERE id = %(d)s", {"d": clinic.doctor_id}))
        raise RuntimeError("the caller fails after the commit")
    assert seen == [[clinic.doctor_id]]


def test_a_unit_that_need_not_be_durable_waits_for_no_disk_and_leaves_the_connection_as_it_was(app):
    """`durable=False` (the hold): `synchronous_commit` is off for that transaction only — every
    pooled connection, the one it used included, commits durably again afterwards."""
    setting = ("SELECT current_setting('synchronous_commit') AS value, pg_backend_pid() AS pid", {})
    with core_db.pipelined_unit(SYSTEM, durable=False) as unit:
        lazy = unit.begin("doktu:test:lazy", setting)[0][0]
        unit.commit()
    with core_db.pipelined_unit(SYSTEM) as unit:
        durable = unit.begin("doktu:test:durable", setting)[0][0]
        unit.commit()
    engine = core_db.current().engine
    idle = [engine.raw_connection() for _ in range(engine.pool.checkedin())]  # every pooled one
    try:
        after = {fairy.driver_connection.execute(setting[0]).fetchone() for fairy in idle}
    finally:
        for fairy in idle:
            fairy.rollback()
            fairy.close()
    assert lazy.value == "off" and durable.value == "on"
    assert lazy.pid in {pid for _, pid in after} and {value for value, _ in after} == {"on"}


def test_a_hold_calendar_unit_sets_its_context_in_one_statement(app, committed_clinic):
    """`begin_within` + `hold_calendar()` (the hold's first round trip): who acts, `now`, the lazy
    COMMIT and the doctor's calendar, from one statement; a session version that is over is 401."""
    from core.errors import Unauthenticated
    from core.scheduling.holds import _LOCKED_CALENDAR
    clinic = committed_clinic(1)
    (patient, _), = clinic.patients
    now = clock.now()
    call = (_LOCKED_CALENDAR, {"doctor": clinic.doctor_id, "start": now, "end": now + timedelta(days=1), "now": now})
    seen = ("SELECT current_setting('app.user_id') AS who, current_setting('app.role') AS role, "
            "current_setting('synchronous_commit') AS sync, app_now() AS now", {})
    with core_db.pipelined_unit(Actor(patient, "patient"), durable=False) as unit:
        calendar = unit.begin_within(f"doktu:doctor:{clinic.doctor_id}", call)
        context = unit.commit(seen, changes=[])[0][0]
    assert [row.doctor_id for row in calendar] == [clinic.doctor_id]
    assert (context.who, context.role, context.sync) == (str(patient), "patient", "off")
    assert timedelta(0) <= context.now - now < timedelta(seconds=30)  # the unit's clock, read as it began
    with pytest.raises(Unauthenticated), core_db.pipelined_unit(
            Actor(patient, "patient", unconfirmed_session=99)) as unit:
        unit.begin_within(f"doktu:doctor:{clinic.doctor_id}", call)


def test_begin_confirms_a_session_before_any_statement_runs(app, committed_clinic, probe):
    """`begin` (the generic path): a session that is over is refused before the caller's
    statements run — the probe's sequence never advances."""
    from core.errors import Unauthenticated
    clinic = committed_clinic(1)
    (patient, _), = clinic.patients
    counted = (f"SELECT nextval('{probe}') AS n", {})
    with pytest.raises(Unauthenticated), core_db.pipelined_unit(Actor(patient, "patient", unconfirmed_session=99)) as unit:
        unit.begin("doktu:test:confirm", counted)
    assert _runs(probe) == 0
    with core_db.pipelined_unit(Actor(patient, "patient", unconfirmed_session=1)) as unit:  # a new account's
        assert unit.begin("doktu:test:confirm", counted)[0][0].n == 1


def test_begin_within_refuses_a_statement_that_would_skip_the_confirmation(app, committed_clinic):
    clinic = committed_clinic(1)
    (patient, _), = clinic.patients
    with pytest.raises(RuntimeError), core_db.pipelined_unit(Actor(patient, "patient", unconfirmed_session=1)) as unit:
        unit.begin_within("doktu:test:skip", ("SELECT 1 AS one", {}))
