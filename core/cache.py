"""The Redis connection: a real server when REDIS_URL is set, an in-process fake otherwise (one per
runtime: `core.runtime.bootstrap` keeps the client, and the embedded jobs share it)."""

from __future__ import annotations

import redis


def connect_redis(url: str | None) -> redis.Redis:
    if url:
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
    import fakeredis  # embedded mode only

    return fakeredis.FakeRedis(server=fakeredis.FakeServer())
