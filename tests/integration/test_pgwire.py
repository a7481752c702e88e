"""`core.pgwire.send` (issue 21): statements in one round trip on libpq's pipeline mode — rows by
name, errors with their SQLSTATE, statements prepared once per connection and kept through the
app's rollbacks."""

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from core import db as core_db
from core import pgwire


@pytest.fixture
def conn(app):
    """A connection of the app's own pool (psycopg's preparing off, the app role), in autocommit:
    a pipeline without BEGIN is one implicit transaction."""
    fairy = core_db.current().engine.raw_connection()
    raw = fairy.driver_connection
    raw.autocommit = True
    try:
        yield raw
    finally:
        raw.autocommit = False
        fairy.close()


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


def test_statements_dropped_by_someone_else_are_prepared_again(conn):
    sql = f"SELECT %(x)s::int AS x -- {uuid.uuid4()}"
    pgwire.send(conn, [(sql, {"x": 1})])
    conn.execute("DEALLOCATE ALL")
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        pgwire.send(conn, [(sql, {"x": 2})])
    assert pgwire.send(conn, [(sql, {"x": 3})])[0][0].x == 3


def test_a_session_sees_what_the_pipeline_wrote_in_its_transaction(db):
    """`core.db.pipelined` on a session's connection: the same transaction as the ORM's."""
    with core_db.unit_of_work(core_db.SYSTEM) as uow:
        core_db.pipelined(uow.session, ("SELECT set_config('doktu.probe', %(v)s, true) AS v", {"v": "seen"}))
        assert uow.session.execute(text("SELECT current_setting('doktu.probe')")).scalar() == "seen"
