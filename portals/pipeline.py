"""The fixed cost of a request (issue 21): Flask's own per-request work, made cheaper without
changing what it does.

- `ensure_sync`: Flask asks `inspect.iscoroutinefunction` of every hook and view on every request
  (21 times for an API GET); the answer for a function never changes, so it is remembered.
- `CachedSerializerSession`: Flask builds a new itsdangerous serializer (key list, signer options)
  on every request, cookie or not; one per secret key set does the same signing. Thread-safe:
  a serializer keeps no per-call state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


def cache_ensure_sync(app: Flask) -> None:
    """Remember `app.ensure_sync`'s answer per function (bound methods compare by their function
    and instance, so a hook registered as a bound method is remembered too)."""
    original = app.ensure_sync
    known: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return known[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable: ask every time
            return original(func)
        synced = known[func] = original(func)
        return synced

    app.ensure_sync = ensure_sync  # type: ignore[method-assign]


class CachedSerializerSession(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its serializer built once per (secret key, fallbacks)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        try:
            return self._serializers[key]
        except KeyError:
            serializer = self._serializers[key] = super().get_signing_serializer(app)
            return serializer
        except TypeError:  # an unhashable key in a test's config
            return super().get_signing_serializer(app)


def speed_up_pipeline(app: Flask) -> None:
    cache_ensure_sync(app)
    app.session_interface = CachedSerializerSession()
