"""Owed side effects (issue 23 item 3): a refund or a notice owed by a committed transaction is a row
in PostgreSQL, so Redis down at the commit (or RQ giving up) loses nothing; the sweep runs what is
owed, once."""

from __future__ import annotations

import subprocess
import time
import uuid
from datetime import timedelta

import pytest
import redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from core import clock, tasks
from core.actor import SYSTEM
from core.booking.changes import cancel
from core.db import unit_of_work
from core.models import OutboxMessage, OwedEffect, Payment
from core.owed import retry_failed, run_owed, sweep_owed
from core.payments import credits, refunds
from core.payments.checkout import pay_with_credit, start_payment
from core.payments.gateway import LocalGateway
from core.payments.local_checkout import deliver_success
from jobs.runtime import RqDispatcher, fail_fast
from jobs.schedule import QUEUE

PORT = 6402  # this helper's own Redis, killed and restarted by the test


class RecordingGateway(LocalGateway):
    """The local gateway, recording every refund it is asked for."""

    def __init__(self):
        super().__init__("http://127.0.0.1")
        self.refunds: list[tuple[str, int, str]] = []

    def refund(self, *, payment_intent_id, amount_cents, idempotency_key) -> str:
        self.refunds.append((payment_intent_id, amount_cents, idempotency_key))
        return super().refund(payment_intent_id=payment_intent_id, amount_cents=amount_cents,
                              idempotency_key=idempotency_key)


@pytest.fixture
def gateway(monkeypatch) -> RecordingGateway:
    recorded = RecordingGateway()
    monkeypatch.setattr(refunds, "current_gateway", lambda: recorded)
    return recorded


class OwnRedis:
    def __init__(self, folder):
        self.folder, self.process = folder, None
        self.connection = fail_fast(redis.Redis(port=PORT, socket_connect_timeout=1, socket_timeout=2))

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.connection.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.connection.connection_pool.disconnect()


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def rq_on_own_redis(own_redis, db):
    """The production dispatcher (RQ), on the Redis this test kills."""
    queue = Queue(QUEUE, connection=own_redis.connection)
    previous = tasks.set_dispatcher(RqDispatcher(queue))
    yield queue
    tasks.set_dispatcher(previous)


def owed(*where, besides: set | frozenset = frozenset()) -> list[OwedEffect]:
    """Owed effects, leaving out those in `besides` (rows other tests committed for real)."""
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.scalars(select(OwedEffect).where(*where).order_by(OwedEffect.created_at))
        return [row for row in rows if row.id not in besides]


@pytest.fixture
def earlier(db) -> set:
    """The owed effects that existed before the test."""
    return {row.id for row in owed()}


def messages(appointment_id) -> list[tuple[str, str]]:
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.contains(str(appointment_id))).order_by(OutboxMessage.dedupe_key))
        return [(r.dedupe_key.split(":")[0] + ":" + r.dedupe_key.split(":")[3], r.status) for r in rows]


def payment_of(appointment_id) -> Payment:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(Payment).where(Payment.appointment_id == appointment_id))


def test_redis_killed_at_the_commit_loses_no_refund_and_no_notice(rq_on_own_redis, own_redis, gateway, held,
                                                                  onboarded, clock_at, caplog, earlier):
    queue = rq_on_own_redis
    # A paid by card, B about to be paid with credit; Redis dies before their commits.
    patient_a, a = held()
    session = start_payment(patient_a.actor, a.id)
    patient_b, b = held(start=a.start + timedelta(hours=2))
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient_b.user.id, "grant", 3500, note="test grant")
    own_redis.kill()

    paid = payment_of(a.id)
    assert deliver_success(session.session_id, 3500, {"appointment_id": str(a.id),
                                                       "payment_id": str(paid.id)}).outcome == "confirmed"
    pay_with_credit(patient_b.actor, b.id)  # the booking confirmation is owed
    cancellation = cancel(patient_a.actor, a.id, refund_as="card")  # refund + cancel notice owed
    assert cancellation.refund.refund_cents == 3500
    assert "could not dispatch task core.payments.refunds.execute_refund" in caplog.text

    # Committed: the payment reads refunded, and the refund is owed, not lost.
    paid = payment_of(a.id)
    assert (paid.status, paid.refunded_cents) == ("refunded", 3500)
    (refund,) = owed(OwedEffect.task == "core.payments.refunds.execute_refund", besides=earlier)
    assert (refund.args, refund.status, refund.dedupe_key) == (
        [str(paid.id), 3500, f"refund:{paid.id}:3500"], "pending", f"refund:{paid.id}:3500")
    assert gateway.refunds == [] and messages(a.id) == [] and messages(b.id) == []

    # Redis returns; the cron's sweep runs on the real worker a minute later.
    own_redis.start()
    clock_at(clock.now() + timedelta(minutes=1))
    queue.enqueue("jobs.owed.sweep_owed_job")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    assert gateway.refunds == [(paid.provider_payment_id, 3500, f"refund:{paid.id}:3500")]
    assert messages(a.id) == [("cancelled:doctor", "dev"), ("cancelled:patient", "dev")]  # its confirmation is stale
    assert messages(b.id) == [("confirmed:doctor", "dev"), ("confirmed:patient", "dev")]
    mine = owed(besides=earlier)
    assert len(mine) == 8 and {e.status for e in mine} == {"done"}  # 3 notices, the refund, 4 deliveries

    # Again: nothing more is owed, nothing is sent twice.
    clock_at(clock.now() + timedelta(minutes=1))
    queue.enqueue("jobs.owed.sweep_owed_job")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert len(gateway.refunds) == 1
    assert len(messages(a.id)) == 2 and len(messages(b.id)) == 2


def test_an_owed_effect_runs_once_however_often_it_is_asked(db, gateway, held, clock_at, earlier):
    patient, pending = held()
    with unit_of_work(SYSTEM) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="test grant")
    previous = tasks.set_dispatcher(lambda *_: None)  # a dispatcher that loses everything
    try:
        pay_with_credit(patient.actor, pending.id)
    finally:
        tasks.set_dispatcher(previous)
    (effect,) = owed(OwedEffect.task == "jobs.notify.appointment_event", besides=earlier)
    sweep_owed(clock.now())
    assert owed(OwedEffect.id == effect.id)[0].status == "pending"  # not due yet: the fast path has 30 s
    assert run_owed(effect.id) == "done"
    assert run_owed(effect.id) == "done"  # the fast path and the sweep both asking: it ran once
    sweep_owed(clock.now() + timedelta(minutes=5))  # its two deliveries, owed by the event
    deliveries = owed(OwedEffect.task == "jobs.notify.deliver_message", besides=earlier)
    assert len(deliveries) == 2 and {e.status for e in deliveries} == {"done"}
    assert messages(pending.id) == [("confirmed:doctor", "dev"), ("confirmed:patient", "dev")]
    assert run_owed(uuid.uuid4()) == "missing"


def test_a_failing_effect_backs_off_then_is_given_up_and_can_be_retried(db, monkeypatch, clock_at):
    calls = []

    def flaky(*args):
        calls.append(args)
        raise ConnectionError("stripe unreachable")

    monkeypatch.setattr(refunds, "execute_refund", flaky)
    monkeypatch.setattr("core.owed.MAX_ATTEMPTS", 3)
    with unit_of_work(SYSTEM) as uow:
        assert uow.defer_once("refund:test:1", "core.payments.refunds.execute_refund", "p", 1, "refund:test:1")
        assert None is uow.defer_once("refund:test:1", "core.payments.refunds.execute_refund", "p", 1, "refund:test:1")
    (effect,) = owed(OwedEffect.dedupe_key == "refund:test:1")
    assert run_owed(effect.id) == "retry"
    (effect,) = owed(OwedEffect.id == effect.id)
    assert (effect.attempts, effect.last_error) == (1, "ConnectionError")
    assert effect.next_attempt_at == clock.now() + timedelta(seconds=30)
    clock_at(effect.next_attempt_at)
    assert run_owed(effect.id) == "retry"
    assert owed(OwedEffect.id == effect.id)[0].next_attempt_at == clock.now() + timedelta(seconds=60)
    assert run_owed(effect.id) == "failed"
    assert run_owed(effect.id) == "failed" and len(calls) == 3  # given up: not run again
    assert retry_failed(effect.id) == 1
    monkeypatch.setattr(refunds, "execute_refund", lambda *args: calls.append(args))
    assert run_owed(effect.id) == "done" and len(calls) == 4


def test_only_doktu_tasks_are_run(db):
    with unit_of_work(SYSTEM) as uow:
        uow.defer("os.system", "echo owned")
    (effect,) = owed(OwedEffect.task == "os.system")
    assert run_owed(effect.id) == "retry"
    assert owed(OwedEffect.id == effect.id)[0].last_error == "ValueError"


def test_the_operations_commands_show_and_requeue_what_is_owed(app, db, monkeypatch):
    from portals.cli import cli

    monkeypatch.setattr("core.owed.MAX_ATTEMPTS", 1)
    with unit_of_work(SYSTEM) as uow:
        uow.defer("core.payments.refunds.execute_refund", "not-a-uuid", 1, "refund:cli:1")
    (effect,) = owed(OwedEffect.task == "core.payments.refunds.execute_refund", OwedEffect.args[0].astext == "not-a-uuid")
    assert run_owed(effect.id) == "failed"
    runner = app.test_cli_runner()
    status = runner.invoke(cli, ["owed", "status"])
    assert status.exit_code == 0
    assert any(line.split()[:3] == ["failed", "1", "core.payments.refunds.execute_refund"]
               for line in status.output.splitlines())
    assert runner.invoke(cli, ["owed", "retry", str(effect.id)]).output == "1 effect(s) owed again.\n"
    assert owed(OwedEffect.id == effect.id)[0].status == "pending"


def test_workers_racing_on_one_owed_effect_run_it_once(app, database_url, monkeypatch):
    """Real connections and commits: the fast path and sweeps on several workers at once."""
    import threading

    from sqlalchemy import create_engine, text

    import jobs.maintenance

    calls, lock = [], threading.Lock()

    def slow_task():
        with lock:
            calls.append(1)
        time.sleep(0.2)  # long enough for every other worker to reach the claim meanwhile

    monkeypatch.setattr(jobs.maintenance, "purge_reset_tokens", slow_task)
    previous = tasks.set_dispatcher(lambda *_: None)  # the commit's own dispatch is lost
    try:
        with unit_of_work(SYSTEM) as uow:
            effect_id = uow.defer("jobs.maintenance.purge_reset_tokens")
    finally:
        tasks.set_dispatcher(previous)
    barrier, outcomes = threading.Barrier(6), []

    def worker():
        barrier.wait()
        outcomes.append(run_owed(effect_id))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    owner = create_engine(database_url)
    try:
        with owner.begin() as conn:
            status = conn.execute(text("SELECT status FROM owed_effects WHERE id = :i"), {"i": effect_id}).scalar()
            conn.execute(text("DELETE FROM owed_effects WHERE id = :i"), {"i": effect_id})
    finally:
        owner.dispose()
    assert len(calls) == 1 and status == "done"
    assert outcomes.count("done") >= 1 and set(outcomes) <= {"done", "busy"}


def test_a_backlog_larger_than_a_batch_is_drained_in_one_sweep(db, monkeypatch, clock_at, earlier):
    ran = []
    monkeypatch.setattr("jobs.maintenance.purge_reset_tokens", lambda n: ran.append(n))
    previous = tasks.set_dispatcher(lambda *_: None)  # Redis down: every dispatch lost
    try:
        for n in range(7):
            with unit_of_work(SYSTEM) as uow:
                uow.defer("jobs.maintenance.purge_reset_tokens", n)
    finally:
        tasks.set_dispatcher(previous)
    assert sweep_owed(clock.now() + timedelta(minutes=1), limit=3).get("done", 0) >= 7
    assert sorted(ran) == list(range(7))
    assert {e.status for e in owed(besides=earlier)} == {"done"}


def test_an_effect_given_up_raises_a_critical_alert_in_the_admin_feed(db, make_user, monkeypatch):
    from core.metrics.alerts import alert_feed

    admin = make_user("admin")
    monkeypatch.setattr("core.owed.MAX_ATTEMPTS", 1)
    before = {a.code for a in alert_feed(admin.actor, now=clock.now(), failed_jobs=0)}
    with unit_of_work(SYSTEM) as uow:
        effect_id = uow.defer("core.payments.refunds.execute_refund", "not-a-uuid", 1, "refund:alert:1")
    assert run_owed(effect_id) == "failed"
    feed = alert_feed(admin.actor, now=clock.now(), failed_jobs=0)
    assert "owed_given_up" not in before
    assert [a.severity for a in feed if a.code == "owed_given_up"] == ["critical"]
