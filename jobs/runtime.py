"""How deferred tasks reach a worker: RQ on Redis, or threads in-process in the embedded mode."""

from __future__ import annotations

import logging
import threading
import time

import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry as Retry_
from rq import Queue, Retry, SimpleWorker
from rq.timeouts import TimerDeathPenalty

from core import tasks
from jobs.owed import run_owed_effect
from jobs.schedule import QUEUE, build_cron
from portals.state import state

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[10, 60, 300])


class RqDispatcher:
    """Hands tasks to RQ: an owed effect by its id (the job claims the row, runs it, marks it
    done; a failure waits for the owed sweep's retry, so no RQ retry), a plain task as itself."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def __call__(self, dotted_path: str, args: tuple, kwargs: dict) -> None:
        self.queue.enqueue(dotted_path, *args, retry=RETRY, **kwargs)

    def owed(self, effect_id: str) -> None:
        self.queue.enqueue(run_owed_effect, effect_id)


def fail_fast(connection: redis.Redis) -> redis.Redis:
    """The same Redis without redis-py's retries (about 4.5 s per call when it is down): an
    enqueue after a commit only makes an owed effect sooner, so it must not hold the request."""
    if type(connection).__module__.startswith("fakeredis"):
        return connection  # the embedded in-process Redis is never down
    pool = connection.connection_pool
    kwargs = {**pool.connection_kwargs, "retry": Retry_(NoBackoff(), 0)}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))


def init_jobs(app: Flask) -> None:
    queue = Queue(QUEUE, connection=state(app).redis)
    tasks.set_dispatcher(RqDispatcher(Queue(QUEUE, connection=fail_fast(queue.connection))))
    app.extensions["doktu_queue"] = queue


class ThreadWorker(SimpleWorker):
    """An RQ worker that can live in a thread: no signal handlers, timer-based timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def start_in_process_jobs(app: Flask, *, tick_seconds: float = 1.0) -> threading.Event:
    """Embedded mode: a worker thread and a cron thread on the in-process Redis."""
    stop = threading.Event()
    connection = state(app).redis
    worker = ThreadWorker([Queue(QUEUE, connection=connection)], connection=connection)

    def work() -> None:
        with app.app_context():
            while not stop.is_set():
                worker.work(burst=True, logging_level="WARNING")
                stop.wait(tick_seconds)

    def cron() -> None:
        scheduler = build_cron(connection)
        while not stop.is_set():
            try:
                scheduler.enqueue_jobs()
            except Exception:
                log.exception("cron tick failed")
            stop.wait(tick_seconds)

    for target, name in ((work, "doktu-worker"), (cron, "doktu-cron")):
        threading.Thread(target=target, name=name, daemon=True).start()
    log.info("in-process jobs started")
    return stop


def run_worker(app: Flask) -> None:
    """`doktu worker`: the RQ worker in this process, the cron scheduler in a child process."""
    import multiprocessing

    from rq import Worker

    connection = state(app).redis
    cron = multiprocessing.Process(target=_run_cron, args=(connection.connection_pool.connection_kwargs,),
                                   name="doktu-cron", daemon=True)
    cron.start()
    try:
        Worker([Queue(QUEUE, connection=connection)], connection=connection).work(with_scheduler=True)
    finally:
        cron.terminate()


def _run_cron(connection_kwargs: dict) -> None:
    from redis import Redis

    build_cron(Redis(**connection_kwargs)).start()
    while True:  # start() returns only on shutdown
        time.sleep(3600)
