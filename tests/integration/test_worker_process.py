"""The real `doktu worker` (RQ worker + its cron child) against the real Redis and the test
database (issue 23): a periodic job runs — an abandoned checkout's hold is released and its unpaid
appointment cancelled — its heartbeat is recorded, and SIGTERM stops both processes cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from core import clock
from core.config import ConfigError, Settings
from jobs.runtime import bootstrap_worker

ROOT = Path(__file__).resolve().parents[2]
DOKTU = Path(sys.executable).with_name("doktu")


@pytest.fixture
def abandoned_checkout(database_url):
    """A doctor, a patient and a pending appointment whose 15-minute hold ended a minute ago,
    committed for real (the worker is another process); removed afterwards with the heartbeats."""
    engine = create_engine(database_url)  # the owner: RLS lets it through
    tag = uuid.uuid4().hex[:8]
    start = clock.now().replace(microsecond=0) + timedelta(days=2)
    expired = clock.now() - timedelta(minutes=1)
    with engine.begin() as conn:
        doctor_user = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
            VALUES (:e, 'doctor', 'Dr Cron', 'x') RETURNING id"""), {"e": f"cron-doc-{tag}@tests.doktu.eu"}).scalar()
        doctor = conn.execute(text("""INSERT INTO doctors (user_id, display_name, specialty)
            VALUES (:u, 'Dr Cron', 'GP') RETURNING id"""), {"u": doctor_user}).scalar()
        patient_user = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
            VALUES (:e, 'patient', 'Abandoner', 'x') RETURNING id"""), {"e": f"cron-pat-{tag}@tests.doktu.eu"}).scalar()
        patient = conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"),
                               {"u": patient_user}).scalar()
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


def wait_for(condition, proc: subprocess.Popen, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"doktu worker exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.25)
    pytest.fail(f"nothing after {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def test_doktu_worker_runs_the_periodic_jobs_on_real_redis(abandoned_checkout, database_url, redis_url, tmp_path):
    engine, slot, appointment = abandoned_checkout
    redis.Redis.from_url(redis_url).delete("doktu:cron-leader")
    env = {**os.environ, "DOKTU_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
           "DOKTU_INSTANCE_PATH": str(tmp_path), "STRIPE_WEBHOOK_SECRET": "whsec_test_secret"}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(DOKTU), "worker"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        def released():
            with engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM appointments WHERE id = :a"), {"a": appointment}).scalar()
                locked = conn.execute(text("SELECT locked_by FROM slots WHERE id = :s"), {"s": slot}).scalar()
                beat = conn.execute(text("""SELECT last_started_at, last_finished_at, last_error FROM job_heartbeats
                                             WHERE name = 'unlock-stale-slots'""")).one_or_none()
            return (status, locked, beat) if status == "cancelled" and beat and beat.last_finished_at else None

        status, locked, beat = wait_for(released, proc, log)
        assert status == "cancelled" and locked is None and beat.last_error is None
        assert beat.last_started_at <= beat.last_finished_at
        assert clock.now() - beat.last_finished_at < timedelta(seconds=30)

        def rolled_up():  # SPEC §22: the KPI roll-ups' job runs when the worker starts, then every 10 min
            with engine.connect() as conn:
                return conn.execute(text("""SELECT last_finished_at, last_error FROM job_heartbeats
                                             WHERE name = 'kpi-rollups' AND last_finished_at IS NOT NULL""")
                                    ).one_or_none()

        rollup = wait_for(rolled_up, proc, log)
        assert rollup.last_error is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()[-4000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert redis.Redis.from_url(redis_url).get("doktu:cron-leader") is None  # the cron child stopped too


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


@pytest.fixture
def unanswered_waitlist_offer(database_url):
    """A doctor, two patients waiting for an earlier time (in this order) and an offer of
    tomorrow 12:15 (on the engine's rhythm) to the first, held for them until a minute ago — committed for real."""
    from zoneinfo import ZoneInfo

    engine = create_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    paris = ZoneInfo("Europe/Paris")
    start = clock.now().astimezone(paris).replace(hour=12, minute=15, second=0, microsecond=0) + timedelta(days=1)
    now = clock.now()
    with engine.begin() as conn:
        doctor_user = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
            VALUES (:e, 'doctor', 'Dr Waitlist', 'x') RETURNING id"""), {"e": f"wl-doc-{tag}@tests.doktu.eu"}).scalar()
        doctor = conn.execute(text("""INSERT INTO doctors (user_id, display_name, specialty)
            VALUES (:u, 'Dr Waitlist', 'GP') RETURNING id"""), {"u": doctor_user}).scalar()
        waiters = []
        for i in range(2):
            uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                VALUES (:e, 'patient', 'Waiter', 'x') RETURNING id"""), {"e": f"wl-pat{i}-{tag}@tests.doktu.eu"}).scalar()
            pid = conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"), {"u": uid}).scalar()
            entry = conn.execute(text("""INSERT INTO waitlist_entries (user_id, patient_id, doctor_id, until_at, created_at)
                VALUES (:u, :p, :d, :until, :at) RETURNING id"""),
                {"u": uid, "p": pid, "d": doctor, "until": now + timedelta(days=3),
                 "at": now - timedelta(minutes=30 - i)}).scalar()
            waiters.append((uid, entry))
        slot = conn.execute(text("""INSERT INTO slots (doctor_id, start_at, end_at, source, locked_by, locked_until)
            VALUES (:d, :s, :s + interval '30 minutes', 'template', :u, :h) RETURNING id"""),
                            {"d": doctor, "s": start, "u": waiters[0][0], "h": now - timedelta(minutes=1)}).scalar()
        conn.execute(text("""INSERT INTO waitlist_offers (entry_id, user_id, doctor_id, slot_id, start_at, end_at,
                offered_at, expires_at) VALUES (:e, :u, :d, :slot, :s, :s + interval '30 minutes', :o, :x)"""),
                     {"e": waiters[0][1], "u": waiters[0][0], "d": doctor, "slot": slot, "s": start,
                      "o": now - timedelta(minutes=16), "x": now - timedelta(minutes=1)})
        conn.execute(text("DELETE FROM job_heartbeats"))
    yield engine, doctor, start, waiters
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM job_heartbeats"))
        conn.execute(text("DELETE FROM owed_effects WHERE args->>0 = :d"), {"d": str(doctor)})
        conn.execute(text("DELETE FROM outbox_messages WHERE recipient LIKE :p"), {"p": f"wl-%-{tag}@tests.doktu.eu"})
        conn.execute(text("DELETE FROM users WHERE email LIKE :p"), {"p": f"wl-%-{tag}@tests.doktu.eu"})
    engine.dispose()


def test_the_worker_passes_an_unanswered_waitlist_offer_to_the_next_waiter(
        unanswered_waitlist_offer, database_url, redis_url, tmp_path):
    """The `waitlist-offers` periodic job expires the offer and owes the start to the next waiter;
    the owed effect is enqueued on Redis and the worker runs it: an offer held for the second
    waiter, and their email queued (SPEC §17)."""
    engine, doctor, start, waiters = unanswered_waitlist_offer
    redis.Redis.from_url(redis_url).delete("doktu:cron-leader")
    env = {**os.environ, "DOKTU_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
           "DOKTU_INSTANCE_PATH": str(tmp_path), "STRIPE_WEBHOOK_SECRET": "whsec_test_secret"}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(DOKTU), "worker"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        def passed_on():
            with engine.connect() as conn:
                offers = conn.execute(text("""SELECT user_id, status, start_at FROM waitlist_offers WHERE doctor_id = :d
                                               ORDER BY offered_at"""), {"d": doctor}).all()
                held = conn.execute(text("SELECT locked_by FROM slots WHERE doctor_id = :d AND start_at = :s"),
                                    {"d": doctor, "s": start}).scalar()
                emails = conn.execute(text("""SELECT count(*) FROM outbox_messages m JOIN users u ON u.email = m.recipient
                                               WHERE u.id = :u AND m.dedupe_key LIKE 'waitlist-offer:%'"""),
                                      {"u": waiters[1][0]}).scalar()
                beat = conn.execute(text("""SELECT last_finished_at, last_error FROM job_heartbeats
                                             WHERE name = 'waitlist-offers'""")).one_or_none()
            return (offers, held, beat) if len(offers) == 2 and emails and beat and beat.last_finished_at else None

        offers, held, beat = wait_for(passed_on, proc, log)
        assert [(o.user_id, o.status) for o in offers] == [(waiters[0][0], "expired"), (waiters[1][0], "offered")]
        assert held == waiters[1][0] and beat.last_error is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()[-4000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
