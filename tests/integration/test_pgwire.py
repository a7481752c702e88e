"""`core.pgwire.send` (issue 21): statements in one round trip on libpq's pipeline mode — rows by
name, errors with their SQLSTATE, statements prepared once per connection and kept through the
app's rollbacks."""

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import db as core_db
from core import pgwire
from core.config import APP_DB_ROLE
from tests.resources import owner_connection


@contextmanager
def _pooled():
    """A connection of the app's own pool (psycopg's preparing off, the app role), in autocommit:
    a pipeline without BEGIN is one implicit transaction."""
    fairy = core_db.current().engine.raw_connection()
    raw = fairy.driver_connection
    raw.autocommit = True
    try:
        yield raw
    finally:
        if not raw.closed:
            raw.autocommit = False
        fairy.close()


@pytest.fixture
def conn(app):
    with _pooled() as raw:
        yield raw


def _prepared_here(conn) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM pg_prepared_statements").fetchall()}


def _sequence(conn) -> str:
    name = f"pgwire_probe_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE TEMP SEQUENCE {name}")
    return name


def test_each_statement_gives_back_its_rows_by_name_with_its_types(conn):
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    ident = uuid.uuid4()
    one, two, three, four = pgwire.send(conn, [
        ("SELECT %(n)s::int + 1 AS two, %(n)s::int AS one", {"n": 1}),  # a name used twice: one parameter
        ("SELECT %(when)s::timestamptz AS at, %(id)s::uuid AS id, %(none)s::text AS nothing",
         {"when": when, "id": ident, "none": None}),
        ("SELECT n FROM generate_series(1, 3) n", {}),
        ("SET LOCAL statement_timeout = '5s'", None),
    ])
    assert (one[0].two, one[0].one) == (2, 1)
    assert (two[0].at, two[0].id, two[0].nothing) == (when, ident, None)
    assert [row.n for row in three] == [1, 2, 3]
    assert four == []


def test_a_literal_percent_is_not_a_parameter(conn):
    (row,), = pgwire.send(conn, [("SELECT 'a%%b' AS text, %(x)s::int AS x", {"x": 7})])
    assert (row.text, row.x) == ("a%b", 7)


def test_a_statement_is_prepared_once_per_connection(conn):
    sql = f"SELECT %(x)s::int * 2 AS doubled -- {uuid.uuid4()}"  # a statement no other test sent
    before = _prepared_here(conn)
    assert pgwire.send(conn, [(sql, {"x": 2})])[0][0].doubled == 4
    added = _prepared_here(conn) - before
    assert len(added) == 1
    assert pgwire.send(conn, [(sql, {"x": 5})])[0][0].doubled == 10
    assert _prepared_here(conn) - before == added  # the second time it ran the prepared one


def test_the_first_error_is_raised_with_its_sqlstate_and_nothing_after_it_runs(conn):
    probe = _sequence(conn)
    with pytest.raises(psycopg.errors.DivisionByZero) as raised:
        pgwire.send(conn, [(f"SELECT nextval('{probe}') AS n", {}),
                           ("SELECT 1 / %(zero)s::int AS boom", {"zero": 0}),
                           (f"SELECT nextval('{probe}') AS n", {})])
    assert raised.value.sqlstate == "22012"
    (row,), = pgwire.send(conn, [(f"SELECT nextval('{probe}') AS n", {})])  # the connection works on
    assert row.n == 2  # the first statement ran (sequences are not rolled back), the last did not


def test_a_parameter_that_cannot_be_sent_sends_nothing(conn):
    probe = _sequence(conn)
    with pytest.raises(psycopg.ProgrammingError):
        pgwire.send(conn, [(f"SELECT nextval('{probe}') AS n", {}), ("SELECT %(x)s AS x", {"x": object()})])
    (row,), = pgwire.send(conn, [(f"SELECT nextval('{probe}') AS n", {})])
    assert row.n == 1


def test_the_apps_rollbacks_keep_the_prepared_statements(conn):
    """psycopg, when it has prepared statements of its own, sends DEALLOCATE ALL on a ROLLBACK; the
    app's connections let it prepare none, so the hot paths' statements survive every session."""
    sql = f"SELECT %(x)s::int AS x -- {uuid.uuid4()}"
    pgwire.send(conn, [(sql, {"x": 1})])
    kept = _prepared_here(conn)
    conn.autocommit = False  # as SQLAlchemy uses it
    for _ in range(8):  # more than psycopg's default threshold of 5
        conn.execute("SELECT %s::int AS y", (1,)).fetchall()
    conn.rollback()
    conn.autocommit = True
    assert _prepared_here(conn) == kept
    assert pgwire.send(conn, [(sql, {"x": 3})])[0][0].x == 3


def test_a_connection_whose_statements_were_dropped_is_closed_and_the_error_is_a_retry(conn):
    sql = f"SELECT %(x)s::int AS x -- {uuid.uuid4()}"
    other = f"SELECT %(y)s::int AS y -- {uuid.uuid4()}"
    pgwire.send(conn, [(sql, {"x": 1})])
    conn.execute("DEALLOCATE ALL")
    with pytest.raises(pgwire.StalePreparedStatements) as raised:
        pgwire.send(conn, [(other, {"y": 2}), (sql, {"x": 2})])  # `other` prepared on the way
    assert conn.closed and raised.value.sqlstate is None  # OperationalError, no SQLSTATE: a 503
    with _pooled() as fresh:
        assert pgwire.send(fresh, [(other, {"y": 4}), (sql, {"x": 3})]) == [[(4,)], [(3,)]]


def test_a_statement_whose_result_changed_shape_closes_its_connection(app, conn):
    """A migration replaced what a prepared statement reads: the server refuses to run it as
    prepared (0A000). That connection is closed (the pool renews it) instead of failing forever."""
    function = f"pgwire_probe_{uuid.uuid4().hex[:8]}"
    with owner_connection() as owner:
        owner.execute(f"CREATE FUNCTION {function}(p int) RETURNS TABLE (a int) LANGUAGE sql AS 'SELECT p'")
        owner.execute(f"GRANT EXECUTE ON FUNCTION {function}(int) TO {APP_DB_ROLE}")
    try:
        sql = f"SELECT * FROM {function}(%(p)s)"
        assert pgwire.send(conn, [(sql, {"p": 1})])[0][0].a == 1
        with owner_connection() as owner:
            owner.execute(f"DROP FUNCTION {function}(int)")
            owner.execute(f"CREATE FUNCTION {function}(p int) RETURNS TABLE (a int, b int) LANGUAGE sql "
                          "AS 'SELECT p, p + 1'")
            owner.execute(f"GRANT EXECUTE ON FUNCTION {function}(int) TO {APP_DB_ROLE}")
        with pytest.raises(pgwire.StalePreparedStatements):
            pgwire.send(conn, [(sql, {"p": 2})])
        assert conn.closed
        with _pooled() as fresh:
            assert pgwire.send(fresh, [(sql, {"p": 3})])[0][0] == (3, 4)
    finally:
        with owner_connection() as owner:
            owner.execute(f"DROP FUNCTION IF EXISTS {function}(int)")


def test_a_round_trip_that_cannot_finish_closes_its_connection(conn):
    """libpq refuses more than 65,535 parameters while the round trip is being queued: the
    connection is closed (its next results would be out of step), the error is libpq's."""
    sql = "SELECT " + ", ".join(f"%(p{i})s::int AS c{i}" for i in range(65_536))
    with pytest.raises(psycopg.OperationalError):
        pgwire.send(conn, [("SELECT 1 AS one", {}), (sql, {f"p{i}": i for i in range(65_536)})])
    assert conn.closed


def test_a_session_transaction_begun_by_sqlalchemy_holds_what_the_pipeline_does(app):
    """A real Session (no test savepoint): SQLAlchemy has sent nothing yet when `pipelined` runs
    first, so the round trip begins the transaction itself, like psycopg's execute would."""
    probe = ("SELECT set_config('doktu.probe', %(v)s, true) AS v", {"v": "seen"})
    with Session(core_db.current().engine) as session, session.begin():
        core_db.pipelined(session, probe)
        assert session.execute(text("SELECT current_setting('doktu.probe', true)")).scalar() == "seen"


def test_a_session_sees_what_the_pipeline_wrote_in_its_transaction(db):
    """`core.db.pipelined` on a session's connection: the same transaction as the ORM's."""
    with core_db.unit_of_work(core_db.SYSTEM) as uow:
        core_db.pipelined(uow.session, ("SELECT set_config('doktu.probe', %(v)s, true) AS v", {"v": "seen"}))
        assert uow.session.execute(text("SELECT current_setting('doktu.probe')")).scalar() == "seen"
