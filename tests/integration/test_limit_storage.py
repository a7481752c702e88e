"""The rate-limit storage when Redis dies and comes back (issue 23 §4): a real redis-server of this
test's own on port 6403, stopped and restarted under a limiter."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from portals import limit_storage
from portals.limit_storage import RedisWithMemoryFallback, fallback_uri

PORT = 6403
URL = f"redis://127.0.0.1:{PORT}/0"


class OwnRedis:
    def __init__(self, folder):
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(URL, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_counts_go_on_in_memory_while_redis_is_down_and_back_to_redis_after(own_redis, monkeypatch):
    monkeypatch.setattr(limit_storage, "DOWN_SECONDS", 0.3)
    storage = RedisWithMemoryFallback(fallback_uri(URL), socket_connect_timeout=0.5, socket_timeout=0.5)
    limiter = FixedWindowRateLimiter(storage)
    three = parse("3/minute")
    direct = redis.Redis.from_url(URL)

    assert [limiter.hit(three, "account", "a") for _ in range(2)] == [True, True]
    assert int(direct.get("LIMITS:LIMITER/account/a/3/1/minute")) == 2  # counted in Redis

    own_redis.stop()
    started = time.monotonic()
    # Redis is gone: no exception, the limit still applies (counted afresh in memory).
    assert [limiter.hit(three, "account", "a") for _ in range(4)] == [True, True, True, False]
    assert storage.redis_down
    assert time.monotonic() - started < 2  # one refused connection, then memory: no timeout per hit

    own_redis.start()
    time.sleep(0.35)  # past DOWN_SECONDS: the next call tries Redis again
    assert limiter.hit(three, "account", "b")
    assert not storage.redis_down
    assert int(redis.Redis.from_url(URL).get("LIMITS:LIMITER/account/b/3/1/minute")) == 1
