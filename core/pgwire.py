"""Several statements in one round trip, straight on libpq's pipeline mode (issue 21).

psycopg's own pipeline (`Connection.pipeline()` and a cursor per statement) flushed the socket once
per statement and built a cursor, a result description and a row maker for each — a third of a
hold's CPU in the app. Here every statement is queued, the socket flushed once, the results read
back as they come; parameters are adapted and rows loaded by psycopg's own Transformer (its C
adapters), rows come back as named tuples, errors as psycopg's exceptions (with their SQLSTATE).

Statements with parameters are prepared on each connection the first time they are sent there (in
the same round trip): the hold's statements are planned once per connection, not on every
request (half of PostgreSQL's CPU per hold). A connection keeps at most `MAX_PREPARED` of them.
psycopg's own preparing is off on the app's connections (`core.db.make_app_engine`): it would
drop these with DEALLOCATE ALL on its next ROLLBACK. A connection whose statements the server
dropped or can no longer run as prepared (a migration changed what they return) is closed, and
the error (`StalePreparedStatements`) is one to retry.
"""

from __future__ import annotations

import re
import select
import weakref
from collections import namedtuple
from functools import lru_cache
from itertools import count

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

MAX_PREPARED = 64
_PLACEHOLDER = re.compile(rb"%\((\w+)\)s|%%")
_TUPLES_OK, _COMMAND_OK = pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK
_SYNC, _ABORTED = pq.ExecStatus.PIPELINE_SYNC, pq.ExecStatus.PIPELINE_ABORTED
_IDLE = pq.TransactionStatus.IDLE
_BAD = pq.ConnStatus.BAD
_BEGIN = object()  # marks the BEGIN `send` queues itself in `pending`


class StalePreparedStatements(psycopg.OperationalError):
    """The server no longer has one of this connection's prepared statements (DEALLOCATE ALL) or
    would run it with another result shape (a migration replaced what it reads). The connection
    was closed — its pool throws it away with every connection as old — and nothing ran: retry."""


def _stale(error: psycopg.Error) -> bool:
    return error.sqlstate == "26000" or (
        error.sqlstate == "0A000" and "cached plan must not change result type" in str(error))


# Names of prepared statements, the same on every connection: (query, parameter types) -> name.
_names: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
_numbers = count()  # `next` is atomic: two threads naming two statements never share a name
# What each connection has prepared (a connection renewed by the pool is a new object).
_prepared: weakref.WeakKeyDictionary[psycopg.Connection, set[bytes]] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=256)
def numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """`%(name)s` placeholders as `$n` (a name used twice is one parameter), and the names in order."""
    numbers: dict[str, int] = {}  # name -> its parameter's number, in order of first use

    def number(match: re.Match) -> bytes:
        if match.group(0) == b"%%":
            return b"%"
        return b"$%d" % numbers.setdefault(match.group(1).decode(), len(numbers) + 1)

    return _PLACEHOLDER.sub(number, sql.encode()), tuple(numbers)


def statement_name(query: bytes, types: tuple[int, ...]) -> bytes:
    """The name `query` with these parameter types is prepared under, on every connection."""
    return _names.get((query, types)) or _names.setdefault((query, types), b"doktu_%d" % next(_numbers))


@lru_cache(maxsize=256)
def _row_type(names: tuple[str, ...]):
    return namedtuple("Row", names, rename=True)._make


def send(raw: psycopg.Connection, statements: list[tuple[str, dict | None]]) -> list[list]:
    """Run `statements` (psycopg placeholders; `None` for no parameters) in order, in one round
    trip, and return each one's rows (an empty list for a statement that returns none). Like
    psycopg's own `execute`, on a connection that is not in autocommit and not in a transaction it
    begins one first. The first error is raised once every result has been read, so the
    connection is left ready for the next statement (inside a transaction, the caller rolls it
    back). Anything that leaves the round trip unfinished closes the connection: its results
    would be out of step with the next caller's."""
    pgconn = raw.pgconn
    tx = Transformer(raw)
    prepared = _prepared.setdefault(raw, set())
    commands = []  # every parameter adapted before anything is sent: a bad one sends nothing
    for sql, params in statements:
        if params is None:
            commands.append((sql.encode(), None, None, None))
            continue
        query, names = numbered(sql)
        values = tx.dump_sequence([params[name] for name in names], [PyFormat.AUTO] * len(names))
        commands.append((query, values, tx.types, tx.formats))
    pending: list = []  # per queued command: `_BEGIN`, the name it prepares, or None (a statement)
    pgconn.enter_pipeline_mode()
    try:
        if not raw.autocommit and pgconn.transaction_status == _IDLE:
            pgconn.send_query_params(b"BEGIN", None)
            pending.append(_BEGIN)
        for query, values, types, formats in commands:
            if values is None:
                pgconn.send_query_params(query, None)
            else:
                name = statement_name(query, types)
                if name not in prepared and len(prepared) < MAX_PREPARED:
                    pgconn.send_prepare(name, query, types)
                    pending.append(name)
                    prepared.add(name)  # taken back below if the server refused it
                if name in prepared:
                    pgconn.send_query_prepared(name, values, formats)
                else:
                    pgconn.send_query_params(query, values, types, formats)
            pending.append(None)
        pgconn.pipeline_sync()
        results = _read(pgconn)
        pgconn.exit_pipeline_mode()
    except BaseException:
        raw.close()  # unfinished: nobody may read this connection's next results as theirs
        raise
    rows: list[list] = []
    failure = None
    for made, result in zip(pending, results, strict=True):
        status = result.status
        if made is not None:  # BEGIN, or a preparation: no rows of their own
            if status != _COMMAND_OK:
                if made is not _BEGIN:
                    prepared.discard(made)
                failure = failure or result
            continue
        if status == _TUPLES_OK:
            tx.set_pgresult(result)
            names = tuple(result.fname(i).decode() for i in range(result.nfields))
            rows.append(tx.load_rows(0, result.ntuples, _row_type(names)))
        elif status == _COMMAND_OK:
            rows.append([])
        elif status != _ABORTED:
            failure = failure or result
    if failure is not None:
        error = errors.error_from_result(failure, encoding=raw.info.encoding)
        if _stale(error):
            raw.close()
            raise StalePreparedStatements(str(error)) from error
        raise error
    return rows


def _read(pgconn) -> list:
    """Send the queue, then collect one result per command up to the pipeline's sync point. While
    the queue is still going out, results are read as they come (libpq's documented loop for a
    non-blocking flush)."""
    fd = pgconn.socket
    while pgconn.flush():
        if _wait(fd, select.POLLIN | select.POLLOUT) & select.POLLIN:
            pgconn.consume_input()
    results = []
    between = False  # the last result read was the end of one command's results
    while True:
        while pgconn.is_busy():
            _wait(fd, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            if between:  # twice in a row: the next command's results are not in yet (as psycopg does)
                if pgconn.status == _BAD:
                    raise psycopg.OperationalError("the connection was lost during the round trip")
                _wait(fd, select.POLLIN)
                pgconn.consume_input()
            between = True
            continue
        between = False
        if result.status == _SYNC:
            return results
        results.append(result)


def _wait(fd: int, events: int) -> int:
    poller = select.poll()
    poller.register(fd, events)
    return next((revents for _, revents in poller.poll()), 0)
