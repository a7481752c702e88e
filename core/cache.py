"""The Redis connection: a real server when REDIS_URL is set, an in-process fake otherwise."""

from __future__ import annotations

import redis

_fake_server = None


def connect_redis(url: str | None) -> redis.Redis:
    if url:
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
    import fakeredis  # embedded mode only

    global _fake_server
    if _fake_server is None:
        _fake_server = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_fake_server)
