"""Deferred side effects reach RQ on the real Redis and run through a worker; cron is declared once."""

from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from core import clock, tasks
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import PasswordResetToken
from jobs.schedule import PERIODIC, build_cron


def test_a_deferred_task_is_enqueued_after_commit_and_run_by_a_worker(app, make_user):
    user = make_user("patient")
    queue: Queue = app.extensions["doktu_queue"]
    queue.empty()
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(PasswordResetToken(user_id=user.user.id, token_hash="a" * 64,
                                           expires_at=clock.now() - timedelta(minutes=1)))
        uow.session.add(PasswordResetToken(user_id=user.user.id, token_hash="b" * 64,
                                           expires_at=clock.now() + timedelta(minutes=59)))
        uow.defer("jobs.maintenance.purge_reset_tokens")
        assert queue.count == 0  # nothing leaves before the commit
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    with unit_of_work(SYSTEM) as uow:
        left = uow.session.scalars(select(PasswordResetToken.token_hash)).all()
    assert left == ["b" * 64]


def test_a_failed_commit_sends_nothing(app, make_user):
    queue: Queue = app.extensions["doktu_queue"]
    queue.empty()
    try:
        with unit_of_work(SYSTEM) as uow:
            uow.defer("jobs.maintenance.purge_reset_tokens")
            raise RuntimeError("the use case failed")
    except RuntimeError:
        pass
    assert queue.count == 0


def test_dispatch_failures_never_undo_a_committed_transaction(app, make_user, caplog):
    user = make_user("patient")

    def broken(*_args):
        raise ConnectionError("redis is down")

    previous = tasks.set_dispatcher(broken)
    try:
        with unit_of_work(SYSTEM) as uow:
            uow.session.add(PasswordResetToken(user_id=user.user.id, token_hash="c" * 64,
                                               expires_at=clock.now() + timedelta(minutes=30)))
            uow.defer("jobs.maintenance.purge_reset_tokens")
    finally:
        tasks.set_dispatcher(previous)
    with unit_of_work(SYSTEM) as uow:
        kept = uow.session.scalar(select(func.count()).select_from(PasswordResetToken)
                                  .where(PasswordResetToken.token_hash == "c" * 64))
    assert kept == 1
    assert "could not dispatch task jobs.maintenance.purge_reset_tokens" in caplog.text


def test_every_periodic_job_is_registered_with_rq_cron(app):
    scheduler = build_cron(app.extensions["doktu"].redis)
    names = {job.name for job in scheduler.get_jobs()}
    assert names == {name for _, _, name in PERIODIC}


def test_a_periodic_run_records_its_heartbeat_and_its_failure(app, db, monkeypatch):
    from core import heartbeats
    from core.actor import Actor
    from jobs import schedule

    schedule.run_periodic("purge-reset-tokens")
    runs = {r.name: r for r in heartbeats.job_runs(Actor(None, "admin"))}
    assert runs["purge-reset-tokens"].last_error is None
    assert runs["purge-reset-tokens"].last_started_at <= runs["purge-reset-tokens"].last_finished_at

    def broken():
        raise ConnectionError("calendar API down")

    monkeypatch.setitem(schedule.BY_NAME, "cal-sync", broken)
    with pytest.raises(ConnectionError):
        schedule.run_periodic("cal-sync")
    runs = {r.name: r for r in heartbeats.job_runs(SYSTEM)}
    assert runs["cal-sync"].last_error == "ConnectionError"  # the class, never the message


def test_one_cron_enqueues_whatever_the_number_of_workers(app):
    from jobs.runtime import CRON_LEADER_KEY, cron_tick

    connection = app.extensions["doktu"].redis
    connection.delete(CRON_LEADER_KEY)
    queue: Queue = app.extensions["doktu_queue"]
    queue.empty()
    first, second = build_cron(connection), build_cron(connection)
    assert cron_tick(first, connection) is True
    assert cron_tick(second, connection) is False
    assert cron_tick(first, connection) is True  # renewed, nothing new due yet
    # every interval job (due at once when a cron starts), once each; cron-timed ones wait for their time
    on_interval = sorted((name,) for _, when, name in PERIODIC if when.get("interval"))
    assert {("sweep-owed-effects",), ("walkin-long-waits",), ("kpi-rollups",)} <= set(on_interval)
    assert sorted(job.args for job in queue.get_jobs()) == on_interval
    connection.delete(CRON_LEADER_KEY)  # the leader died: its key expires, another takes over
    assert cron_tick(second, connection) is True
