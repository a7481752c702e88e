"""Snapshots of the admin figures, shared by every admin for SNAPSHOT_SECONDS (SPEC §9: the console
refreshes every 60 s, so a figure is never older than the tile that shows it).

The month's figures read a few hundred thousand rows (0.5–1.5 s on a year of 1,000,000
appointments); computing them once a minute per range, not once per admin per minute, keeps every
request fast. The cache is the runtime's (`Runtime.cache`, the app's Redis); when it is missing or
down, figures are computed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from core import runtime

log = logging.getLogger(__name__)
SNAPSHOT_SECONDS = 60
PREFIX = "doktu:metrics:"
T = TypeVar("T")


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: str, ex: int) -> object: ...


def snapshot(key: str, compute: Callable[[], T], dump: Callable[[T], Any], load: Callable[[Any], T], *,
             cached: bool = True) -> T:
    """`compute()`'s value, from the runtime's cache when a snapshot younger than SNAPSHOT_SECONDS
    is there (`cached=False`: always computed, as for a test's own `now`)."""
    cache = runtime.current().cache if cached else None
    if cache is None:
        return compute()
    try:
        raw = cache.get(PREFIX + key)
    except Exception:  # Redis down: compute instead
        log.warning("metrics cache unavailable")
        return compute()
    if raw:
        return load(json.loads(raw))
    value = compute()
    try:
        cache.set(PREFIX + key, json.dumps(dump(value), default=str), ex=SNAPSHOT_SECONDS)
    except Exception:
        log.warning("metrics cache unavailable")
    return value
