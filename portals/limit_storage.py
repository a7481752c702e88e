"""Rate-limit counters that survive Redis going away (issue 23 §4).

A `limits` storage (Flask-Limiter's back end, and our own failure and challenge counters) that
keeps counts in Redis and, while Redis does not answer, in this process's memory. Flask-Limiter's
own `in_memory_fallback` replaces every per-route limit by one global limit; this keeps each limit
and its key, so "5 failed sign-ins per account" still means that with Redis down (per process:
with N workers a limit is at most N times looser until Redis is back). After a failure Redis is
left alone for DOWN_SECONDS, so a dead server costs one timeout per interval, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time

from limits.storage import MemoryStorage, RedisStorage, Storage

log = logging.getLogger(__name__)

SCHEME_PREFIX = "doktu+"
DOWN_SECONDS = 5.0


def fallback_uri(redis_url: str) -> str:
    """The storage URI Flask-Limiter is given for a Redis URL (`redis://…` → `doktu+redis://…`)."""
    return SCHEME_PREFIX + redis_url


class RedisWithMemoryFallback(Storage):
    STORAGE_SCHEME = ["doktu+redis", "doktu+rediss", "doktu+unix"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.redis = RedisStorage(uri.removeprefix(SCHEME_PREFIX), **options)
        self.memory = MemoryStorage()
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing escapes: every Redis error turns into the memory fallback

    @property
    def redis_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, name: str, *args):
        if not self.redis_down:
            try:
                return getattr(self.redis, name)(*args)
            except Exception as exc:  # redis-py's errors, or the script cache of a restarted server
                with self._lock:
                    if not self.redis_down:
                        log.warning("rate-limit storage unavailable, counting in memory",
                                    extra={"error": type(exc).__name__})
                    self._down_until = time.monotonic() + DOWN_SECONDS
        return getattr(self.memory, name)(*args)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._call("incr", key, expiry, amount)

    def get(self, key: str) -> int:
        return self._call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._call("get_expiry", key)

    def check(self) -> bool:
        return self.memory.check() if self.redis_down else bool(self._call("check"))

    def reset(self) -> int | None:
        self.memory.reset()
        return self._call("reset")

    def clear(self, key: str) -> None:
        self.memory.clear(key)
        self._call("clear", key)
