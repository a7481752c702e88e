"""Hypothesis properties of the availability engine (SPEC §3 invariants)."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.scheduling.engine import ADVANCE_NOTICE, BUFFER, ExplicitSlot, Hold, unified_availability

ZONES = [ZoneInfo(z) for z in ("Europe/Paris", "Europe/London", "Europe/Helsinki", "Europe/Lisbon")]
BASE = datetime(2026, 3, 23, tzinfo=ZoneInfo("UTC"))  # the week of the spring change
QUARTERS = st.integers(min_value=0, max_value=14 * 24 * 4)
VIEWER = uuid.uuid4()


def quarter(n: int) -> datetime:
    return BASE + timedelta(minutes=15 * n)


@st.composite
def calendars(draw):
    tz = draw(st.sampled_from(ZONES))
    explicit = [
        ExplicitSlot(uuid.uuid4(), quarter(q), quarter(q) + timedelta(minutes=30), draw(st.booleans()))
        for q in draw(st.lists(QUARTERS, max_size=12, unique=True))
    ]
    appointments = [quarter(q) for q in draw(st.lists(QUARTERS, max_size=8))]
    holders = [uuid.uuid4(), VIEWER]
    holds = [Hold(quarter(q), draw(st.sampled_from(holders)), quarter(q) + timedelta(hours=draw(st.integers(-2, 48))))
             for q in draw(st.lists(QUARTERS, max_size=4))]
    now = quarter(draw(st.integers(min_value=0, max_value=7 * 96))) + timedelta(minutes=draw(st.integers(0, 14)))
    start = quarter(draw(st.integers(min_value=0, max_value=7 * 96)))
    end = start + timedelta(hours=draw(st.integers(min_value=1, max_value=7 * 24)))
    online = draw(st.booleans())
    return dict(tz=tz, explicit=explicit, appointment_starts=appointments, holds=holds, now=now,
                window_start=start, window_end=end, online=online, viewer_id=VIEWER)


@settings(max_examples=300, deadline=None)
@given(calendars())
def test_engine_invariants(calendar):
    result = unified_availability(**calendar)
    if not calendar["online"]:
        assert result == []
        return
    starts = [a.start for a in result]
    assert starts == sorted(starts) and len(starts) == len(set(starts))
    others = [h.start for h in calendar["holds"] if h.until > calendar["now"] and h.holder_id != VIEWER]
    explicit_available = {s.start for s in calendar["explicit"] if s.is_available}
    off = [s for s in calendar["explicit"] if not s.is_available]
    tz = calendar["tz"]
    for entry in result:
        assert entry.end - entry.start == timedelta(minutes=30)
        assert calendar["window_start"] <= entry.start < calendar["window_end"]
        if entry.is_booked:
            continue
        assert entry.start >= calendar["now"] + ADVANCE_NOTICE
        for blocker in [*calendar["appointment_starts"], *others]:
            assert abs(entry.start - blocker) >= BUFFER
        local = entry.start.astimezone(tz)
        if entry.start in explicit_available:
            continue
        # a template start: on the local quarter-hour grid, inside 10:00–21:00, not turned off
        assert local.minute % 15 == 0 and local.second == 0
        assert (10, 0) <= (local.hour, local.minute) <= (20, 30)
        assert not any(s.start < entry.end and entry.start < s.end for s in off)
