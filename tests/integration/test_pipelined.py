"""`core.db.pipelined` (issue 21): several statements in one round trip, with the semantics of
separate ones — rows as named tuples, errors as SQLAlchemy's, calendar changes read on the way."""

import uuid

import pytest
from sqlalchemy.exc import DataError

from core import db as core_db
from core import runtime
from core.actor import SYSTEM, Actor
from core.db import pipelined, unit_of_work
from core.errors import SlotConflict


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
