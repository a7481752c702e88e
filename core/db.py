"""Engine, sessions and the unit of work that sets the per-transaction RLS context (SPEC §2).

The app never runs queries as the table owner: every pooled connection switches to the
`doktu_app` role when it is opened (or logs in as it through DATABASE_APP_URL), so the
row-level security policies apply to every statement, raw ones included.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core import clock, pgwire, runtime, tasks
from core.actor import SYSTEM, Actor
from core.config import APP_DB_ROLE
from core.errors import TOKEN_REFUSED, ServiceUnavailable, SlotConflict, Unauthenticated
from core.models.effects import OwedEffect
from core.runtime import Runtime

log = logging.getLogger(__name__)

# An owed effect is the sweep's only after this long: right after the commit it is the fast path's.
OWED_GRACE = timedelta(seconds=30)
# SQLSTATEs that mean "someone else got this time first": the exclusion guard, a deadlock
# between two bookers, a serialization failure. They answer 409, never 500 (SPEC §2).
CONFLICT_SQLSTATES = {"23P01", "40P01", "40001"}


@dataclass
class Database:
    engine: Engine
    session_factory: sessionmaker
    owner_url: str
    default_factory: sessionmaker | None = None

    @property
    def factory_injected(self) -> bool:
        """A test bound sessions to its own rolled-back connection."""
        return self.session_factory is not self.default_factory


def make_app_engine(url: str, *, app_url: str | None = None, **kwargs: Any) -> Engine:
    """An engine whose connections always run as the unprivileged app role.

    No `pool_pre_ping`: it cost a round trip on every checkout (12.8 % of an availability call's
    CPU, issue 21) and did not help through a PostgreSQL restart (RECIPES). A dead pooled connection
    fails its statement instead; SQLAlchemy then invalidates the pool, `query_once` retries once,
    and a unit of work answers 503 with Retry-After (`ServiceUnavailable`)."""
    # psycopg prepares nothing of its own: on every ROLLBACK of a connection where it had prepared
    # statements it sends DEALLOCATE ALL, which would also drop the hot paths' (`core.pgwire`).
    engine = create_engine(app_url or url, pool_pre_ping=False, future=True,
                           connect_args={"prepare_threshold": None}, **kwargs)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, _cursor, statement, _params, _context, _many):
        # A transaction that may have written reads `app.calendar_changed` before it commits.
        if not statement.lstrip()[:6].upper().startswith("SELECT"):
            conn.info["wrote"] = True
    if not app_url:
        @event.listens_for(engine, "connect")
        def _become_app_role(dbapi_conn, _record):  # pragma: no branch - one line of SQL
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET ROLE {APP_DB_ROLE}")
            dbapi_conn.commit()  # SET is transactional: keep it past the pool's reset rollback
    return engine


def connect(url: str, *, app_url: str | None = None, **engine_kwargs: Any) -> Database:
    """The app's database on `url` (the owner's, kept for migrations); `core.runtime.bootstrap`
    holds the one the process uses."""
    engine = make_app_engine(url, app_url=app_url, **engine_kwargs)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    return Database(engine, factory, url, factory)


def current() -> Database:
    return runtime.current().db


def set_session_factory(factory: sessionmaker) -> sessionmaker:
    """Swap the session factory (tests bind it to a connection that is rolled back)."""
    db = current()
    previous, db.session_factory = db.session_factory, factory
    return previous


def query_once(statement, params: dict) -> list:
    """One read outside any transaction (autocommit: a single round trip), for hot paths that
    call SECURITY DEFINER functions. Inside a test's transaction when a test injected sessions.
    A connection found dead (PostgreSQL restarted) is retried once on a fresh one: it is a read."""
    db = current()
    if db.factory_injected:
        with db.session_factory() as session:
            return session.execute(statement, params).all()
    for attempt in (1, 2):
        try:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return conn.execute(statement, params).all()
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise translate_db_error(exc) from exc
    raise AssertionError("unreachable")


def read_once(sql: str, params: dict) -> list:
    """`query_once` straight on psycopg (psycopg placeholders, rows as named tuples): no SQLAlchemy
    compilation or result machinery, for the statement every bearer-token request runs (the token's
    user, issue 21). Autocommit, one round trip; a connection found dead is retried once."""
    db = current()
    if db.factory_injected:
        with db.session_factory() as session:
            return _send(session.connection().connection.dbapi_connection, [(sql, params)])[0]
    for attempt in (1, 2):
        try:
            fairy = db.engine.raw_connection()
        except DBAPIError as exc:
            raise translate_db_error(exc) from exc
        raw = fairy.driver_connection
        try:
            raw.autocommit = True
            with raw.cursor(row_factory=namedtuple_row) as cursor:
                return cursor.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            # Only a connection found dead is thrown away and the read retried; a live one that
            # refused (a statement timeout is an OperationalError too) goes back to the pool and
            # the error is answered like any other statement's.
            dead = raw.closed or raw.broken
            if dead:
                _discard(fairy, raw, exc)
            if not dead or attempt == 2:
                raise translate_db_error(DBAPIError.instance(sql, None, exc, psycopg.Error)) from exc
        finally:
            if raw.closed:
                fairy.close()
            else:
                _end(fairy, raw)
    raise AssertionError("unreachable")


_CHANGED = text("SELECT current_setting('app.calendar_changed', true), set_config('app.calendar_changed', '', true)")


_CHANGED_RAW = ("SELECT current_setting('app.calendar_changed', true) AS seen, "
                "set_config('app.calendar_changed', '', true) AS reset")


def _parse_changes(seen: str | None) -> list[uuid.UUID]:
    return [uuid.UUID(part) for part in (seen or "").split(",") if part]


def _calendar_changes(session: Session, rt: Runtime) -> list[uuid.UUID]:
    """Doctors whose calendar this transaction changed (the `app.calendar_changed` setting filled
    by the note_calendar_change() trigger, migration 0011a), read just before the commit — only
    when a statement other than a SELECT ran since the last reading and someone listens
    (`Runtime.calendars_changed`), so read-only units of work pay nothing; `pipelined(…,
    changes=True)` reads them in its own round trip."""
    conn = session.connection()
    changed = conn.info.pop("changed", [])
    if not rt.watches_calendars:
        return []
    if conn.info.pop("wrote", False):
        changed = list(dict.fromkeys([*changed, *_parse_changes(session.execute(_CHANGED).scalar())]))
    return changed


def pipelined(session: Session, *statements: tuple[str, dict], changes: bool = False) -> list[list]:
    """Run several statements (psycopg placeholders: `%(name)s`) on the session's connection in ONE
    round trip (psycopg's pipeline mode), in order, and return each one's rows (named tuples).

    The server still runs them one after the other, each with its own snapshot taken when it
    starts: a read sent after `pg_advisory_xact_lock` sees everything committed before the lock was
    granted, as it would in separate round trips (the hold path, issue 21). No SQLAlchemy on the
    way (no compilation, no result metadata): the hot paths' statements are fixed strings. Errors
    come back as SQLAlchemy's DBAPIError, like any other statement's. `changes`: also read (and
    reset) the doctors whose calendar the transaction changed so far, in the same round trip, so
    the commit does not need a statement of its own for it (`_calendar_changes`). The price: with
    tracing on, these statements get no SQLAlchemy span (the request's span still times them)."""
    conn = session.connection()  # begins the session's transaction (a savepoint in tests)
    raw = conn.connection.dbapi_connection
    if any(not sql.lstrip()[:6].upper().startswith("SELECT") for sql, _ in statements):
        conn.info["wrote"] = True
    sent = [*statements, (_CHANGED_RAW, {})] if changes else list(statements)
    rows = _send(raw, sent)
    if changes:
        conn.info["wrote"] = False
        conn.info["changed"] = list(dict.fromkeys([*conn.info.get("changed", []), *_parse_changes(rows[-1][0][0])]))
        rows.pop()
    return rows


_CONTEXT = ("SELECT set_config('app.user_id', :u, true), set_config('app.role', :r, true), "
            "set_config('app.now', :n, true)")
_CONTEXT_LOCKED_RAW = ("SELECT set_config('app.user_id', %(u)s, true) AS u, "
                       "set_config('app.role', %(r)s, true) AS r, set_config('app.now', %(n)s, true) AS n, "
                       "pg_advisory_xact_lock(hashtextextended(%(k)s, 0)) AS k")
# The same, for a transaction whose COMMIT need not wait for its WAL to reach the disk (see
# `pipelined_unit`'s `durable`): visible to everyone at once, written by the WAL writer within
# ~0.6 s; only a crash of PostgreSQL in between forgets it.
_CONTEXT_LOCKED_LAZY_RAW = _CONTEXT_LOCKED_RAW + ", set_config('synchronous_commit', 'off', true) AS lazy"


# A bearer token's session, confirmed inside the unit of work (`Actor.unconfirmed_session`): the
# account exists, is active and was not signed out everywhere since the token was issued.
_SESSION_ROLE_RAW = "SELECT role FROM app_session_user(%(id)s, %(version)s)"


def _confirm_session(actor: Actor, rows: list) -> None:
    """Refuse an actor whose token's session is over (no row) or whose role changed since."""
    if not rows or rows[0][0] != actor.role:
        raise Unauthenticated(TOKEN_REFUSED)


def apply_rls_context(session: Session, actor: Actor) -> None:
    """Who acts (RLS), and the application's "now" (`app.now`, read by `app_now()`): the
    double-booking guard compares hold expiry with the same clock as the services. (The hold's
    own path sends the same settings with its doctor lock: `_CONTEXT_LOCKED_RAW`.)"""
    user_id, role = actor.rls_settings()
    session.execute(text(_CONTEXT), {"u": user_id, "r": role, "n": clock.now().isoformat()})


@dataclass
class UnitOfWork:
    """One transaction for one actor, carrying the process's runtime (its adapters). What the
    transaction changed outside PostgreSQL — owed effects to dispatch, slot holds to mirror in
    Redis — is recorded here and applied only once the transaction has committed."""

    session: Session
    actor: Actor
    runtime: Runtime
    _after_commit: list[tuple[uuid.UUID, str, tuple, dict]] = field(default_factory=list)
    _holds_freed: list[uuid.UUID] = field(default_factory=list)
    _holds_taken: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)

    def holds_freed(self, slot_ids) -> None:
        """These slots' holds were given back in this transaction: clear their Redis mirror after
        the commit (every path that frees a hold says so here, the webhook's included)."""
        self._holds_freed.extend(slot_ids)

    def hold_taken(self, slot_id: uuid.UUID, holder: uuid.UUID) -> None:
        """This slot is held by `holder` from this transaction on: mirror it after the commit."""
        self._holds_taken.append((slot_id, holder))

    def defer(self, dotted_path: str, *args: Any, **kwargs: Any) -> uuid.UUID:
        """Owe a side effect (email, refund, …) in this transaction; it runs once the transaction
        has committed — at once through the dispatcher, else by the sweep (DESIGN: owed side
        effects). Arguments must be JSON (ids as strings). Returns the owed effect's id."""
        return self._owe(None, dotted_path, args, kwargs)

    def defer_once(self, dedupe_key: str, dotted_path: str, *args: Any, **kwargs: Any) -> uuid.UUID | None:
        """`defer`, unless an effect with this key was ever owed (then nothing, and None)."""
        return self._owe(dedupe_key, dotted_path, args, kwargs)

    def _owe(self, dedupe_key: str | None, dotted_path: str, args: tuple, kwargs: dict) -> uuid.UUID | None:
        effect_id, now = uuid.uuid4(), clock.now()
        # Plain INSERT, no RETURNING and no ON CONFLICT (both need the SELECT policy): any actor may
        # owe an effect, only staff may read the table (RLS). A key already owed is a unique
        # violation, caught in a savepoint.
        statement = insert(OwedEffect).values(id=effect_id, task=dotted_path, args=list(args), kwargs=kwargs,
                                              dedupe_key=dedupe_key, created_at=now,
                                              next_attempt_at=now + OWED_GRACE)
        if dedupe_key is None:
            self.session.execute(statement)
        else:
            try:
                with self.session.begin_nested():
                    self.session.execute(statement)
            except IntegrityError as exc:
                if sqlstate(exc) != "23505":
                    raise
                return None
        self._after_commit.append((effect_id, dotted_path, args, kwargs))
        return effect_id


@contextmanager
def acting_as_system(uow: UnitOfWork) -> Iterator[Session]:
    """Inside the actor's transaction, run a few statements as the system, then as the actor again.

    For the part of a use case the actor's own row-level rights do not cover but the use case
    must do — a patient's cancellation refunds their payment and credits them, which no patient may
    write directly. The service has checked the actor's right to the use case before; pending ORM
    changes are flushed first, so the actor's own writes are still checked under the actor's policies.
    On an error the context is not restored: the transaction is being rolled back anyway."""
    uow.session.flush()
    apply_rls_context(uow.session, SYSTEM)
    yield uow.session
    uow.session.flush()
    apply_rls_context(uow.session, uow.actor)


@contextmanager
def unit_of_work(actor: Actor) -> Iterator[UnitOfWork]:
    """One transaction for one actor: RLS context first, commit at the end, side effects after
    (the hold's own path, two round trips in all, is `pipelined_unit`)."""
    rt = runtime.current()
    session = rt.db.session_factory()
    uow = UnitOfWork(session, actor, rt)
    changed: list[uuid.UUID] = []
    try:
        with session.begin():
            info = session.connection().info
            info.pop("wrote", None)
            info.pop("changed", None)
            if actor.unconfirmed_session is not None:
                _confirm_session(actor, pipelined(session, (_SESSION_ROLE_RAW, {
                    "id": actor.user_id, "version": actor.unconfirmed_session}))[0])
            apply_rls_context(session, actor)
            yield uow
            session.flush()
            changed = _calendar_changes(session, rt)
    except DBAPIError as exc:
        raise translate_db_error(exc) from exc
    finally:
        session.close()
    if changed:
        rt.calendars_changed(changed)
    rt.holds.apply(uow._holds_freed, uow._holds_taken)  # one round trip; best effort: PostgreSQL decided
    for effect_id, dotted_path, args, kwargs in uow._after_commit:
        tasks.dispatch_owed(effect_id, dotted_path, args, kwargs)


class PipelinedUnit:
    """A unit of work in two round trips, for the hold (issue 21): `begin` sends BEGIN, the RLS
    context with an advisory lock and the first reads together; `commit` sends the writes, the
    reading of the calendar change record and COMMIT together. Straight on libpq (`core.pgwire`)
    — no Session, no ORM, no SQLAlchemy compilation. Because the COMMIT rides with the writes, the
    writes must decide for themselves whether to write (a statement that finds nothing to do
    writes nothing), as nothing can be rolled back in between. After the commit, like `unit_of_work`: the changed
    calendars are dropped from the cache and the hold mirror updated, in one Redis round trip."""

    def __init__(self, actor: Actor, rt: Runtime, raw: psycopg.Connection, *, own: bool, durable: bool = True):
        self.actor, self.runtime, self.raw, self.own, self.durable = actor, rt, raw, own, durable
        self.changed: list[uuid.UUID] = []
        self.committed = False
        self._holds_freed: list[uuid.UUID] = []
        self._holds_taken: list[tuple[uuid.UUID, uuid.UUID]] = []

    def begin(self, lock: str, *statements: tuple[str, dict]) -> list[list]:
        """BEGIN, who acts (RLS) and `now`, the lock, then `statements` — run once the lock is granted.
        An actor's unconfirmed token session is confirmed first, in a round trip of its own (the
        hold confirms it inside its one statement instead: `begin_within`)."""
        actor = self.actor
        if actor.unconfirmed_session is not None:  # a round trip of its own, before anything runs
            _confirm_session(actor, _send(self.raw, [(_SESSION_ROLE_RAW, {
                "id": actor.user_id, "version": actor.unconfirmed_session})])[0])
        user_id, role = actor.rls_settings()
        context = (_CONTEXT_LOCKED_RAW if self.durable else _CONTEXT_LOCKED_LAZY_RAW,
                   {"u": user_id, "r": role, "n": clock.now().isoformat(), "k": lock})
        return _send(self.raw, [context, *statements])[1:]  # BEGIN goes with them (`pgwire.send`)

    def begin_within(self, lock: str, call: tuple[str, dict]) -> list:
        """BEGIN and ONE statement that sets the unit's context itself (the hold's `hold_calendar`,
        migration 0013b): what `begin` sends as separate statements reaches `call` as parameters —
        `%(u)s` user, `%(r)s` role, `%(n)s` now (text), `%(k)s` lock, `%(s)s` the session version to
        confirm (NULL: none), `%(lazy)s` not durable. A session that is over (SQLSTATE 28000) is
        Unauthenticated. Returns `call`'s rows."""
        actor = self.actor
        user_id, role = actor.rls_settings()
        sql, params = call
        if actor.unconfirmed_session is not None and "%(s)s" not in sql:
            raise RuntimeError("begin_within: the statement must confirm the token's session (%(s)s)")
        context = {"u": user_id, "r": role, "n": clock.now().isoformat(), "k": lock,
                   "s": actor.unconfirmed_session, "lazy": not self.durable}
        try:
            return _send(self.raw, [(sql, {**params, **context})])[0]  # with BEGIN (`pgwire.send`)
        except DBAPIError as exc:
            if sqlstate(exc) == "28000":
                raise Unauthenticated(TOKEN_REFUSED) from exc
            raise

    def commit(self, *statements: tuple[str, dict], changes: list[uuid.UUID] | None = None) -> list[list]:
        """`statements`, the calendar changes they made, then COMMIT (the test's savepoint is
        released by its session instead). `changes`: the doctors whose calendar the statements
        change, when the caller knows them (the hold: its doctor) — then none is read back."""
        read_back = changes is None and self.runtime.watches_calendars
        sent = [*statements, *([(_CHANGED_RAW, {})] if read_back else []), *([("COMMIT", None)] if self.own else [])]
        rows = _send(self.raw, sent)
        self.committed = True
        if read_back:
            self.changed = _parse_changes(rows[len(statements)][0][0])
        elif self.runtime.watches_calendars:
            self.changed = list(changes or [])
        return rows[:len(statements)]

    def holds_freed(self, slot_ids) -> None:
        self._holds_freed.extend(slot_ids)

    def hold_taken(self, slot_id: uuid.UUID, holder: uuid.UUID) -> None:
        self._holds_taken.append((slot_id, holder))

    def after_commit(self) -> None:
        rt = self.runtime
        if self.changed and rt.availability.client is not None and rt.availability.client is rt.holds.client:
            # The cache's invalidation and the hold mirror share one pipeline: one Redis round trip.
            pipe = rt.holds.client.pipeline(transaction=False)
            rt.availability.queue_invalidation(pipe, self.changed)
            rt.holds.queue(pipe, self._holds_freed, self._holds_taken)
            rt.holds.send(pipe)
            rt.tell_calendar_listeners(self.changed)
            return
        if self.changed:
            rt.calendars_changed(self.changed)
        rt.holds.apply(self._holds_freed, self._holds_taken)


def _send(raw: psycopg.Connection, statements: list[tuple[str, dict | None]]) -> list[list]:
    """`statements` in one round trip (libpq's pipeline mode, `core.pgwire`), each one's rows."""
    try:
        return pgwire.send(raw, statements)
    except psycopg.Error as exc:
        raise DBAPIError.instance("; ".join(sql for sql, _ in statements), None, exc, psycopg.Error) from exc


@contextmanager
def pipelined_unit(actor: Actor, *, durable: bool = True) -> Iterator[PipelinedUnit]:
    """A `PipelinedUnit` for `actor` on a pooled connection of its own (the unit sends BEGIN with
    its first statements and COMMIT with its last, on libpq directly: psycopg sends nothing of its
    own). When a test injected sessions, the same statements run in the test's transaction (a
    savepoint that is released instead of a COMMIT).

    `durable=False`: the COMMIT does not wait for the disk (`synchronous_commit = off` for this
    transaction only) — for writes whose loss in a PostgreSQL crash costs nobody anything that a
    later durable transaction does not re-check (a slot hold: 15 minutes of a start, no money)."""
    rt = runtime.current()
    if rt.db.factory_injected:
        session = rt.db.session_factory()
        try:
            with session.begin():
                unit = PipelinedUnit(actor, rt, session.connection().connection.dbapi_connection, own=False,
                                     durable=durable)
                yield unit
        except DBAPIError as exc:
            raise translate_db_error(exc) from exc
        finally:
            session.close()
        if unit.committed:
            unit.after_commit()
        return
    try:
        fairy = rt.db.engine.raw_connection()
    except DBAPIError as exc:
        raise translate_db_error(exc) from exc
    raw = fairy.driver_connection
    unit = PipelinedUnit(actor, rt, raw, own=True, durable=durable)
    try:
        try:
            yield unit
        finally:
            _end(fairy, raw)
            if unit.committed:  # what was committed is mirrored even if the caller raised after it
                unit.after_commit()
    except DBAPIError as exc:
        raise translate_db_error(exc) from exc


def _end(fairy, raw: psycopg.Connection) -> None:
    """Back to the pool as the pool expects it: out of any transaction, autocommit off. A
    connection that cannot get there is thrown away, and when it is dead (PostgreSQL restarted)
    so is every connection of its pool made before now, as SQLAlchemy does for its own statements
    (else each stale one would fail a request of its own)."""
    try:
        if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raw.execute("ROLLBACK")
        if raw.autocommit:  # `read_once` switched it on
            raw.autocommit = False
    except psycopg.Error as exc:
        _discard(fairy, raw, exc)
    fairy.close()


def _discard(fairy, raw: psycopg.Connection, exc: BaseException) -> None:
    """Throw a connection that failed away; a dead one takes its pool's older connections along."""
    if raw.closed or raw.broken:
        fairy._pool._invalidate(fairy, exc)  # SQLAlchemy's own call on a disconnect
    else:
        fairy.invalidate(exc)


def sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def translate_db_error(exc: DBAPIError) -> Exception:
    """Map database refusals that are part of the domain to domain errors; keep the rest."""
    state = sqlstate(exc)
    if state in CONFLICT_SQLSTATES:
        return SlotConflict()
    if isinstance(exc, OperationalError) and state is None:
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return ServiceUnavailable()
    return exc
