"""The fixed-cost shortcuts of issue 21 keep Flask's and the cache's answers (portals/pipeline.py,
core/scheduling/availability_cache.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from core.scheduling.availability_cache import AvailabilityCache, encode
from core.scheduling.calendars import DoctorCalendar
from core.scheduling.engine import ExplicitSlot
from portals.pipeline import CachedSerializerSession, cache_ensure_sync


def test_ensure_sync_answers_once_per_function_and_still_wraps_what_flask_would():
    app = Flask(__name__)
    asked = []
    original = app.ensure_sync
    app.ensure_sync = lambda func: asked.append(func) or original(func)
    cache_ensure_sync(app)

    def hook():
        return "ran"

    assert app.ensure_sync(hook) is hook and app.ensure_sync(hook)() == "ran"
    assert asked == [hook]  # the second call did not ask again


def test_one_serializer_per_secret_key_and_it_signs_like_flask():
    app = Flask(__name__)
    app.secret_key = "a" * 40
    interface = CachedSerializerSession()
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    assert first.loads(first.dumps({"x": 1})) == {"x": 1}
    app.secret_key = "b" * 40  # a rotated key gets its own
    assert interface.get_signing_serializer(app) is not first


def _calendar(doctor: uuid.UUID, available: bool) -> bytes:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    slot = ExplicitSlot(uuid.uuid4(), start, start + timedelta(minutes=30), available)
    return encode(DoctorCalendar(doctor, ZoneInfo("Europe/Paris"), True, explicit=[slot]), None)


def test_a_cached_calendar_is_parsed_once_per_bytes_and_again_when_they_change():
    cache, doctor = AvailabilityCache(None), uuid.uuid4()
    raw = _calendar(doctor, True)
    first = cache._decode(doctor, "range", raw)
    assert cache._decode(doctor, "range", bytes(raw)) is first  # equal bytes: the same calendar
    changed = cache._decode(doctor, "range", _calendar(doctor, False))
    assert changed is not first and changed.explicit[0].is_available is False
    assert cache._decode(uuid.uuid4(), "range", raw) is not first  # another doctor: its own
