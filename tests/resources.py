"""The shared servers' resources a test run uses, each derived from TEST_DB_NAME so that runs side
by side (CI jobs, developers' worktrees) never share a database or a Redis db by accident.

- the database: TEST_DB_NAME (default `doktu_test`); the browser suite's server uses `<name>_browser`;
- Redis: TEST_REDIS_URL when set, else a db of its own on the local server: 15 for `doktu_test`
  (as before), otherwise one of 1–14 chosen from the name (bench/_server.py uses the same rule).
"""

from __future__ import annotations

import os
import zlib

import psycopg

DEFAULT_DB_NAME = "doktu_test"


def db_name() -> str:
    return os.environ.get("TEST_DB_NAME") or DEFAULT_DB_NAME


def redis_db_for(name: str) -> int:
    return 15 if name == DEFAULT_DB_NAME else 1 + zlib.crc32(name.encode()) % 14


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{redis_db_for(db_name())}"


def owner_connection() -> psycopg.Connection:
    """A connection of the test database's owner, outside the app's pool (which acts as doktu_app)."""
    from core import db

    url = db.current().engine.url.set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
