"""The real `doktu worker` (RQ worker + its cron child) against the real Redis and the test
database (issue 23): a periodic job runs — an abandoned checkout's hold is released and its unpaid
appointment cancelled — its heartbeat is recorded, and SIGTERM stops both processes cleanly. The
waitlist's offers (issue 15) are passed on by the worker, and a worker killed (SIGKILL) in the
middle of passing one on, or of making one, leaves nothing half-written: once it is started again
the offer is made exactly once."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
import redis
from rq import Queue
from sqlalchemy import create_engine, text

from core import clock
from core.config import ConfigError, Settings
from core.scheduling.holds import doctor_lock_key
from jobs.owed import run_owed_effect
from jobs.runtime import CRON_LEADER_KEY, bootstrap_worker
from jobs.schedule import QUEUE

ROOT = Path(__file__).resolve().parents[2]
DOKTU = Path(sys.executable).with_name("doktu")
KILL_TIMEOUT = float(re.search(r'kill_timeout = "(\d+)s"', (ROOT / "fly.toml").read_text()).group(1))


# ---- helpers ---------------------------------------------------------------------------------

def add_user(conn, email: str, role: str, name: str) -> uuid.UUID:
    return conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
        VALUES (:e, :r, :n, 'x') RETURNING id"""), {"e": email, "r": role, "n": name}).scalar()


def add_doctor(conn, email: str, name: str) -> uuid.UUID:
    return conn.execute(text("""INSERT INTO doctors (user_id, display_name, specialty)
        VALUES (:u, :n, 'GP') RETURNING id"""), {"u": add_user(conn, email, "doctor", name), "n": name}).scalar()


def add_patient(conn, email: str, name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(user id, patient id)."""
    user = add_user(conn, email, "patient", name)
    return user, conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"), {"u": user}).scalar()


class WorkerProcess:
    """`doktu worker` in a subprocess on the test database and Redis, its output in a log file."""

    def __init__(self, database_url: str, redis_url: str, tmp_path: Path):
        self.redis_url, self.tmp_path = redis_url, tmp_path
        self.env = {**os.environ, "DOKTU_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                    "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
                    "DOKTU_INSTANCE_PATH": str(tmp_path), "STRIPE_WEBHOOK_SECRET": "whsec_test_secret"}
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    @property
    def log(self) -> Path:
        return self.tmp_path / f"worker{self.runs}.log"

    def start(self) -> WorkerProcess:
        # A fresh cron leader: a killed worker's key would lapse only after its 30 s TTL (that
        # takeover is tested in test_jobs.py); here the worker should lead at once.
        redis.Redis.from_url(self.redis_url).delete(CRON_LEADER_KEY)
        self.runs += 1
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([str(DOKTU), "worker"], env=self.env, cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT)
        return self

    def wait_until_leading(self, timeout: float = 180.0) -> WorkerProcess:
        """Until its cron child leads (and so has enqueued the periodic jobs once). That takes two
        cold interpreter starts — the worker, then the spawned cron child — which on a loaded
        machine can take well over a minute; what is waited for after it is then only the jobs."""
        connection = redis.Redis.from_url(self.redis_url)
        return self.wait_for(lambda: connection.exists(CRON_LEADER_KEY) and self, timeout)

    def output(self) -> str:
        return self.log.read_text()[-4000:]

    def wait_for(self, condition, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            if self.proc.poll() is not None:
                pytest.fail(f"doktu worker exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.25)
        pytest.fail(f"nothing after {timeout:.0f} s:\n{self.output()}")

    def stop(self) -> None:
        """SIGTERM: both processes stop cleanly, within the time the deployment gives them before
        its SIGKILL (fly.toml's kill_timeout; measured 18–24 s at a load of 10–17 on 2 cores)."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=KILL_TIMEOUT) == 0, self.output()
        assert "Traceback" not in self.log.read_text(), self.output()

    def crash(self) -> None:
        """SIGKILL the worker and every process it started at once — RQ's work horse (in a process
        group of its own) and the cron child — as when the machine or its container dies."""
        parent = psutil.Process(self.proc.pid)
        family = [parent, *parent.children(recursive=True)]
        for process in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        psutil.wait_procs(family, timeout=20)
        self.proc.wait(timeout=5)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.crash()


@pytest.fixture
def worker(database_url, redis_url, tmp_path):
    process = WorkerProcess(database_url, redis_url, tmp_path)
    yield process
    process.close()


# ---- the periodic jobs -----------------------------------------------------------------------

@pytest.fixture
def abandoned_checkout(database_url):
    """A doctor, a patient and a pending appointment whose 15-minute hold ended a minute ago,
    committed for real (the worker is another process); removed afterwards with the heartbeats."""
    engine = create_engine(database_url)  # the owner: RLS lets it through
    tag = uuid.uuid4().hex[:8]
    start = clock.now().replace(microsecond=0) + timedelta(days=2)
    expired = clock.now() - timedelta(minutes=1)
    with engine.begin() as conn:
        doctor = add_doctor(conn, f"cron-doc-{tag}@tests.doktu.eu", "Dr Cron")
        patient_user, patient = add_patient(conn, f"cron-pat-{tag}@tests.doktu.eu", "Abandoner")
        slot = conn.execute(text("""INSERT INTO slots (doctor_id, start_at, end_at, source, locked_by, locked_until)
            VALUES (:d, :s, :s + interval '30 minutes', 'template', :p, :h) RETURNING id"""),
                            {"d": doctor, "s": start, "p": patient_user, "h": expired}).scalar()
        appointment = conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, slot_id, start_at, end_at,
                status, hold_expires_at) VALUES (:d, :p, :slot, :s, :s + interval '30 minutes', 'pending', :h)
                RETURNING id"""), {"d": doctor, "p": patient, "slot": slot, "s": start, "h": expired}).scalar()
        conn.execute(text("DELETE FROM job_heartbeats"))
    yield engine, slot, appointment
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM job_heartbeats"))
        conn.execute(text("DELETE FROM appointments WHERE doctor_id = :d"), {"d": doctor})
        conn.execute(text("DELETE FROM users WHERE email LIKE :p"), {"p": f"cron-%-{tag}@tests.doktu.eu"})
    engine.dispose()


def test_doktu_worker_runs_the_periodic_jobs_on_real_redis(abandoned_checkout, worker, redis_url):
    engine, slot, appointment = abandoned_checkout
    worker.start()

    def released():
        with engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM appointments WHERE id = :a"), {"a": appointment}).scalar()
            locked = conn.execute(text("SELECT locked_by FROM slots WHERE id = :s"), {"s": slot}).scalar()
            beat = conn.execute(text("""SELECT last_started_at, last_finished_at, last_error FROM job_heartbeats
                                         WHERE name = 'unlock-stale-slots'""")).one_or_none()
        return (status, locked, beat) if status == "cancelled" and beat and beat.last_finished_at else None

    status, locked, beat = worker.wait_until_leading().wait_for(released)
    assert status == "cancelled" and locked is None and beat.last_error is None
    assert beat.last_started_at <= beat.last_finished_at
    assert clock.now() - beat.last_finished_at < timedelta(seconds=30)

    def rolled_up():  # SPEC §22: the KPI roll-ups' job runs when the worker starts, then every 10 min
        with engine.connect() as conn:
            return conn.execute(text("""SELECT last_finished_at, last_error FROM job_heartbeats
                                         WHERE name = 'kpi-rollups' AND last_finished_at IS NOT NULL""")
                                ).one_or_none()

    rollup = worker.wait_for(rolled_up)
    assert rollup.last_error is None
    worker.stop()
    assert redis.Redis.from_url(redis_url).get(CRON_LEADER_KEY) is None  # the cron child stopped too


def test_doktu_worker_needs_redis_url(tmp_path):
    with pytest.raises(ConfigError, match="needs REDIS_URL"):
        bootstrap_worker(Settings(env="test", redis_url=None, instance_path=tmp_path))


def test_a_dead_cron_process_is_started_again(redis_url):
    from jobs.runtime import CronSupervisor

    supervisor = CronSupervisor(redis_url)
    supervisor.start()
    try:
        first = supervisor.process
        assert supervisor.check() is False  # alive: left alone
        os.kill(first.pid, signal.SIGKILL)
        first.join(10)
        assert supervisor.check() is True
        assert supervisor.process.pid != first.pid and supervisor.process.is_alive()
    finally:
        supervisor.stop()
    assert not supervisor.process.is_alive() and supervisor.check() is False  # stopped: not restarted


# ---- the waitlist's offers (issue 15) --------------------------------------------------------

@pytest.fixture
def unanswered_waitlist_offer(database_url):
    """A doctor, two patients waiting for an earlier time (in this order) and an offer of
    tomorrow 12:15 (on the engine's rhythm) to the first, held for them until a minute ago — committed for real."""
    engine = create_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    paris = ZoneInfo("Europe/Paris")
    start = clock.now().astimezone(paris).replace(hour=12, minute=15, second=0, microsecond=0) + timedelta(days=1)
    now = clock.now()
    with engine.begin() as conn:
        doctor = add_doctor(conn, f"wl-doc-{tag}@tests.doktu.eu", "Dr Waitlist")
        waiters = []
        for i in range(2):
            uid, pid = add_patient(conn, f"wl-pat{i}-{tag}@tests.doktu.eu", "Waiter")
            entry = conn.execute(text("""INSERT INTO waitlist_entries (user_id, patient_id, doctor_id, until_at, created_at)
                VALUES (:u, :p, :d, :until, :at) RETURNING id"""),
                {"u": uid, "p": pid, "d": doctor, "until": now + timedelta(days=3),
                 "at": now - timedelta(minutes=30 - i)}).scalar()
            waiters.append((uid, entry))
        slot = conn.execute(text("""INSERT INTO slots (doctor_id, start_at, end_at, source, locked_by, locked_until)
            VALUES (:d, :s, :s + interval '30 minutes', 'template', :u, :h) RETURNING id"""),
                            {"d": doctor, "s": start, "u": waiters[0][0], "h": now - timedelta(minutes=1)}).scalar()
        offer = conn.execute(text("""INSERT INTO waitlist_offers (entry_id, user_id, doctor_id, slot_id, start_at,
                end_at, offered_at, expires_at) VALUES (:e, :u, :d, :slot, :s, :s + interval '30 minutes', :o, :x)
                RETURNING id"""), {"e": waiters[0][1], "u": waiters[0][0], "d": doctor, "slot": slot, "s": start,
                                   "o": now - timedelta(minutes=16), "x": now - timedelta(minutes=1)}).scalar()
        conn.execute(text("DELETE FROM job_heartbeats"))
    yield engine, doctor, start, waiters, offer
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM job_heartbeats"))
        conn.execute(text("DELETE FROM owed_effects WHERE args->>0 = :d"), {"d": str(doctor)})
        conn.execute(text("DELETE FROM outbox_messages WHERE recipient LIKE :p"), {"p": f"wl-%-{tag}@tests.doktu.eu"})
        conn.execute(text("DELETE FROM users WHERE email LIKE :p"), {"p": f"wl-%-{tag}@tests.doktu.eu"})
    engine.dispose()


def offers_state(engine, doctor, start, waiter):
    """What the waitlist shows for the doctor: the offers in order, who holds the start, and the
    waiter's offer emails."""
    with engine.connect() as conn:
        offers = conn.execute(text("""SELECT user_id, status, start_at FROM waitlist_offers WHERE doctor_id = :d
                                       ORDER BY offered_at"""), {"d": doctor}).all()
        held = conn.execute(text("SELECT locked_by FROM slots WHERE doctor_id = :d AND start_at = :s"),
                            {"d": doctor, "s": start}).scalar()
        emails = conn.execute(text("""SELECT count(*) FROM outbox_messages m JOIN users u ON u.email = m.recipient
                                       WHERE u.id = :u AND m.dedupe_key LIKE 'waitlist-offer:%'"""),
                              {"u": waiter}).scalar()
    return offers, held, emails


def wait_until_passed_on(worker: WorkerProcess, engine, doctor, start, waiters):
    def passed_on():
        offers, held, emails = offers_state(engine, doctor, start, waiters[1][0])
        with engine.connect() as conn:
            beat = conn.execute(text("""SELECT last_finished_at, last_error FROM job_heartbeats
                                         WHERE name = 'waitlist-offers'""")).one_or_none()
        return (offers, held, emails, beat) if len(offers) == 2 and emails and beat and beat.last_finished_at \
            else None

    return worker.wait_for(passed_on)


def test_the_worker_passes_an_unanswered_waitlist_offer_to_the_next_waiter(unanswered_waitlist_offer, worker):
    """The `waitlist-offers` periodic job expires the offer and owes the start to the next waiter;
    the owed effect is enqueued on Redis and the worker runs it: an offer held for the second
    waiter, and their email queued (SPEC §17)."""
    engine, doctor, start, waiters, _offer = unanswered_waitlist_offer
    offers, held, emails, beat = wait_until_passed_on(worker.start().wait_until_leading(), engine, doctor, start, waiters)
    assert [(o.user_id, o.status) for o in offers] == [(waiters[0][0], "expired"), (waiters[1][0], "offered")]
    assert held == waiters[1][0] and emails == 1 and beat.last_error is None
    worker.stop()


def blocked_backend(engine, wait_event_type: str, query_like: str):
    """The worker's PostgreSQL backend waiting on a lock while running this statement, if any."""
    with engine.connect() as conn:
        return conn.execute(text("""SELECT pid FROM pg_stat_activity WHERE datname = current_database()
            AND pid <> pg_backend_pid() AND wait_event_type = :t AND query LIKE :q"""),
                            {"t": wait_event_type, "q": query_like}).scalar()


OWED_OF_DOCTOR = """FROM owed_effects WHERE task LIKE 'core.booking.waitlist.%' AND (args->>0 = :d
    OR args->>0 IN (SELECT id::text FROM waitlist_offers WHERE doctor_id::text = :d))"""


def owed_of(engine, doctor):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT id, task, status, attempts {OWED_OF_DOCTOR} ORDER BY created_at"),
                            {"d": str(doctor)}).all()


def settle_owed(worker: WorkerProcess, engine, doctor) -> None:
    """Run what is still owed for this doctor's waitlist through the worker now — what the owed
    sweep does once an effect's 30-s grace is over (its RQ job died with the killed worker) — and
    wait until nothing is pending."""
    queue = Queue(QUEUE, connection=redis.Redis.from_url(worker.redis_url))
    for effect in owed_of(engine, doctor):
        if effect.status == "pending":
            queue.enqueue(run_owed_effect, str(effect.id))
    worker.wait_for(lambda: all(e.status != "pending" for e in owed_of(engine, doctor)))


def assert_offered_exactly_once(worker: WorkerProcess, engine, doctor, start, waiters) -> None:
    """After the crash and the restart, once everything owed has run (again): the first offer
    expired, the second waiter has exactly one live offer (one dashboard card) holding the start
    and one email, and no owed effect failed."""
    settle_owed(worker, engine, doctor)
    offers, held, emails = offers_state(engine, doctor, start, waiters[1][0])
    assert [(o.user_id, o.status, o.start_at) for o in offers] == [
        (waiters[0][0], "expired", start), (waiters[1][0], "offered", start)]
    assert held == waiters[1][0] and emails == 1
    owed = owed_of(engine, doctor)
    assert {e.status for e in owed} == {"done"}, owed
    assert [e.task for e in owed].count("core.booking.waitlist.notify_offer") == 1


def test_a_worker_killed_while_passing_an_offer_on_leaves_nothing_half_done(unanswered_waitlist_offer, worker):
    """SIGKILL while the worker is expiring the overdue offer (the test holds the offer's row lock,
    so the job waits inside its transaction): nothing of the expiry is committed — the offer is
    still the first waiter's, no offer or email for the second, nothing owed has run. Started
    again, the worker passes the offer on exactly once."""
    engine, doctor, start, waiters, offer = unanswered_waitlist_offer
    with engine.connect() as lock:
        lock.execute(text("SELECT 1 FROM waitlist_offers WHERE id = :o FOR UPDATE"), {"o": offer})
        worker.start().wait_until_leading()
        worker.wait_for(lambda: blocked_backend(engine, "Lock", "%UPDATE waitlist_offers%"))
        worker.crash()
        lock.rollback()
    offers, _held, emails = offers_state(engine, doctor, start, waiters[1][0])
    assert [(o.user_id, o.status) for o in offers] == [(waiters[0][0], "offered")] and emails == 0
    assert all(e.status == "pending" and e.attempts == 0 for e in owed_of(engine, doctor))
    wait_until_passed_on(worker.start().wait_until_leading(), engine, doctor, start, waiters)
    assert_offered_exactly_once(worker, engine, doctor, start, waiters)
    worker.stop()


def test_a_worker_killed_while_making_an_offer_makes_it_once_when_started_again(unanswered_waitlist_offer, worker):
    """SIGKILL while the owed `offer_freed_start` waits for the doctor's lock (held by the test),
    after the overdue offer's expiry committed: the offer to the next waiter is still owed, not
    half made — no hold, no offer, no email. Started again, it is made exactly once: one hold, one
    email, one dashboard card."""
    engine, doctor, start, waiters, offer = unanswered_waitlist_offer

    def expired_and_blocked():
        with engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM waitlist_offers WHERE id = :o"), {"o": offer}).scalar()
        return status == "expired" and blocked_backend(engine, "Lock", "%pg_advisory_xact_lock%")

    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": doctor_lock_key(doctor)})
        try:
            worker.start().wait_until_leading()
            worker.wait_for(expired_and_blocked)
            worker.crash()
        finally:
            lock.execute(text("SELECT pg_advisory_unlock_all()"))
            lock.rollback()
    offers, held, emails = offers_state(engine, doctor, start, waiters[1][0])
    assert [(o.user_id, o.status) for o in offers] == [(waiters[0][0], "expired")] and emails == 0
    assert held is None  # the expired offer's hold was given back; the next one is not taken
    owed = owed_of(engine, doctor)
    assert owed and all(e.task == "core.booking.waitlist.offer_freed_start" and e.status == "pending"
                        and e.attempts == 0 for e in owed), owed
    worker.start().wait_until_leading()
    assert_offered_exactly_once(worker, engine, doctor, start, waiters)
    worker.stop()
