"""What the application holds for its lifetime, in `app.extensions["doktu"]`."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask, current_app

from core.config import Settings


@dataclass
class DoktuState:
    settings: Settings
    database_url: str  # the owner URL (migrations); the app's engine runs as doktu_app
    redis: redis.Redis


def state(app: Flask | None = None) -> DoktuState:
    return (app or current_app).extensions["doktu"]
