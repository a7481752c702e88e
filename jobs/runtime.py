"""How deferred tasks reach a worker, and the worker itself (`doktu worker`): RQ on Redis, or
threads in-process in the embedded mode. Built from the settings alone — jobs never import the
portals (an import-linter contract): the worker needs no Flask app."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry, SimpleWorker
from rq.timeouts import TimerDeathPenalty

from core import config, runtime
from core.cache import connect_redis
from core.config import Settings
from core.runtime import Runtime
from jobs.owed import run_owed_effect
from jobs.schedule import QUEUE, build_cron

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[10, 60, 300])
# One cron at a time, whatever the number of `doktu worker` processes: the one holding this key
# (renewed every tick, gone 30 s after its holder died) enqueues the periodic jobs.
CRON_LEADER_KEY = "doktu:cron-leader"
CRON_LEADER_TTL = 30
CRON_TICK_SECONDS = 5.0
_LEAD = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""


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
    kwargs = {**pool.connection_kwargs, "retry": RedisRetry(NoBackoff(), 0)}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))


def init_jobs(rt: Runtime) -> Queue:
    """Deferred tasks (`uow.defer`, owed in PostgreSQL) are handed to the RQ queue on the runtime's
    Redis as soon as their transaction commits (the runtime's dispatcher); returns the queue."""
    rt.dispatcher = RqDispatcher(Queue(QUEUE, connection=fail_fast(rt.redis)))
    return Queue(QUEUE, connection=rt.redis)


class ThreadWorker(SimpleWorker):
    """An RQ worker that can live in a thread: no signal handlers, timer-based timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def cron_tick(scheduler, connection: redis.Redis) -> bool:
    """Enqueue the periodic jobs that are due, if this process leads the crons; True if it does."""
    if not connection.eval(_LEAD, 1, CRON_LEADER_KEY, scheduler.name, CRON_LEADER_TTL):
        return False
    if scheduler.enqueue_jobs():
        scheduler.save()
    scheduler.heartbeat()
    return True


def start_in_process_jobs(connection: redis.Redis, *,
                          context: Callable[[], AbstractContextManager] = nullcontext,
                          tick_seconds: float = 1.0) -> threading.Event:
    """Embedded mode: a worker thread and a cron thread on the in-process Redis."""
    stop = threading.Event()
    worker = ThreadWorker([Queue(QUEUE, connection=connection)], connection=connection)

    def work() -> None:
        with context():
            while not stop.is_set():
                worker.work(burst=True, logging_level="WARNING")
                stop.wait(tick_seconds)

    def cron() -> None:
        scheduler = build_cron(connection)
        while not stop.is_set():
            try:
                cron_tick(scheduler, connection)
            except Exception:
                log.exception("cron tick failed")
            stop.wait(tick_seconds)

    for target, name in ((work, "doktu-worker"), (cron, "doktu-cron")):
        threading.Thread(target=target, name=name, daemon=True).start()
    log.info("in-process jobs started")
    return stop


def bootstrap_worker(settings: Settings) -> Runtime:
    """What a worker process needs, without Flask: the runtime (`core.runtime.bootstrap`: settings,
    database as the app role, Redis, providers) with the RQ dispatcher."""
    if not settings.redis_url:
        raise config.ConfigError("`doktu worker` needs REDIS_URL; without it `doktu serve` and "
                                 "`doktu demo` run the jobs in-process.")
    rt = runtime.bootstrap(settings)
    init_jobs(rt)
    return rt


class CronSupervisor:
    """Keeps the cron child process of `doktu worker` alive: started with the worker, started again
    (and logged) whenever it died, stopped with the worker."""

    def __init__(self, redis_url: str, *, check_seconds: float = 5.0):
        self.redis_url, self.check_seconds = redis_url, check_seconds
        self.process = None
        self._stop = threading.Event()
        self._context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        self.process = self._context.Process(target=run_cron, args=(self.redis_url, os.getpid()),
                                             name="doktu-cron", daemon=True)
        self.process.start()

    def check(self) -> bool:
        """Restart the cron if it died; True if it had to."""
        if self._stop.is_set() or (self.process is not None and self.process.is_alive()):
            return False
        log.error("cron process gone: starting it again",
                  extra={"exitcode": self.process.exitcode if self.process else None})
        self.start()
        return True

    def watch(self) -> None:
        self.start()

        def loop() -> None:
            while not self._stop.wait(self.check_seconds):
                self.check()

        threading.Thread(target=loop, name="doktu-cron-supervisor", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.process is not None:
            self.process.terminate()
            self.process.join(10)


def run_worker(settings: Settings) -> None:
    """`doktu worker`: the RQ worker in this process, the cron in a supervised child process (the
    RQ worker needs the main thread for its signals). SIGTERM or Ctrl-C stops both."""
    from rq import Worker

    connection = bootstrap_worker(settings).redis
    cron = CronSupervisor(settings.redis_url)
    cron.watch()
    try:
        Worker([Queue(QUEUE, connection=connection)], connection=connection).work(
            with_scheduler=True, logging_level=settings.log_level)
    finally:
        cron.stop()


def run_cron(redis_url: str, parent_pid: int | None = None) -> None:
    """The cron loop of `doktu worker` (a child process): the Redis client is rebuilt from the URL —
    a client's connection kwargs are not a constructor's arguments (redis-py 8 adds internal ones,
    which crashed this process at start, so no periodic job ever ran). Stops on SIGTERM, or when
    its parent worker is gone."""
    connection = connect_redis(redis_url)
    scheduler = build_cron(connection)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.register_birth()
    try:
        while not stop.is_set() and (parent_pid is None or os.getppid() == parent_pid):
            try:
                cron_tick(scheduler, connection)
            except Exception:  # Redis away a moment: the next tick tries again
                log.exception("cron tick failed")
            stop.wait(max(0.5, min(CRON_TICK_SECONDS, scheduler.calculate_sleep_interval())))
    finally:
        scheduler.register_death()
        connection.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
                        "return 0", 1, CRON_LEADER_KEY, scheduler.name)
