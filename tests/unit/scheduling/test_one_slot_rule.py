"""One slot rule (issues 22.3 and 24.4): what the engine offers patients and what the doctor's
calendar shows are the same verdicts. Hypothesis draws a day — explicit slots on and off, bookings,
paying patients' holds, external busy times, a clock, DST days, Offline — and checks that

- every offered start lies in a green, non-past, unhatched cell, and each such cell holds one;
- the calendar's offered count (the Month view's number) equals the patient's list;
- offered starts can all be booked together (45 minutes apart, clear of bookings and holds);
- the rhythm wastes nothing: a free start that is not offered lies within 45 minutes after an
  offered one (or after one that is already too soon to book).
"""

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.scheduling.doctor_calendar import AVAILABLE, BookedRow, SlotRow, day_cells, local_day_bounds
from core.scheduling.engine import (
    ADVANCE_NOTICE,
    BUFFER,
    Busy,
    ExplicitSlot,
    Hold,
    Verdict,
    classify_day,
    unified_availability,
)

ZONES = [ZoneInfo(z) for z in ("Europe/Paris", "Europe/London", "America/New_York", "Asia/Kolkata")]
DAYS = [date(2026, 3, 3), date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)]
HALF = timedelta(minutes=30)
QUARTER = timedelta(minutes=15)
STATUSES = ("pending", "paid", "confirmed", "cancelled")
SOMEONE = uuid.uuid4()


@st.composite
def days(draw):
    tz = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(DAYS))
    first, last = local_day_bounds(tz, day)
    quarters = int((last - first) / QUARTER)
    moment = st.integers(min_value=-4, max_value=quarters + 4).map(lambda q: first + q * QUARTER)
    slots = [SlotRow(start, start + HALF * draw(st.integers(1, 3)), draw(st.booleans()), draw(st.booleans()),
                     draw(st.booleans()))
             for start in draw(st.lists(moment, max_size=10, unique=True))]
    # a held row a patient's hold materialised is available and not the doctor's choice
    slots = [s if s.explicit or s.is_available else SlotRow(s.start, s.end, True, False, s.held) for s in slots]
    booked = [BookedRow(uuid.uuid4(), start, start + HALF, draw(st.sampled_from(STATUSES)), "A patient")
              for start in draw(st.lists(moment, max_size=5, unique=True))]
    busy = [(start, start + QUARTER * draw(st.integers(1, 8))) for start in draw(st.lists(moment, max_size=3))]
    now = first + timedelta(minutes=draw(st.integers(-24 * 60, 26 * 60)))
    return dict(tz=tz, day=day, slots=slots, booked=booked, busy=busy, now=now, online=draw(st.booleans()))


def engine_inputs(case) -> dict:
    return dict(
        tz=case["tz"], now=case["now"], online=case["online"],
        explicit=[ExplicitSlot(None, s.start, s.end, s.is_available) for s in case["slots"] if s.explicit],
        appointment_starts=[b.start for b in case["booked"] if b.status != "cancelled"],
        busy=[Busy(s, e) for s, e in case["busy"]],
        holds=[Hold(s.start, SOMEONE, case["now"] + HALF) for s in case["slots"] if s.held])


def offered(case, rhythm=True) -> list[datetime]:
    first, last = local_day_bounds(case["tz"], case["day"])
    result = unified_availability(window_start=first, window_end=last, rhythm=rhythm, **engine_inputs(case))
    return [a.start for a in result if a.is_available]


@settings(max_examples=400, deadline=None)
@given(days())
def test_the_calendar_colours_exactly_what_the_engine_offers(case):
    column = day_cells(case["tz"], case["day"], slots=case["slots"], booked=case["booked"], busy=case["busy"],
                       now=case["now"], online=case["online"])
    starts = offered(case)
    assert sum(c.offered_starts for c in column.cells) == len(starts)  # the Month view's count
    for cell in column.cells:
        inside = [s for s in starts if cell.start <= s < cell.end]
        assert cell.offered_starts == len(inside)
        if inside:
            assert cell.state == AVAILABLE and not cell.past and cell.not_offered is None
        elif cell.state == AVAILABLE and not cell.past:
            assert cell.not_offered, "an open cell with nothing offered must say why"
        else:
            assert cell.not_offered is None


@settings(max_examples=400, deadline=None)
@given(days())
def test_offered_starts_can_all_be_booked_together_and_the_rhythm_wastes_nothing(case):
    starts = offered(case)
    blockers = [*engine_inputs(case)["appointment_starts"], *(h.start for h in engine_inputs(case)["holds"])]
    for a, b in itertools.pairwise(starts):
        assert b - a >= BUFFER
    for start in starts:
        assert start >= case["now"] + ADVANCE_NOTICE
        assert all(abs(start - blocker) >= BUFFER for blocker in blockers)
    earliest = case["now"] + ADVANCE_NOTICE
    for start in set(offered(case, rhythm=False)) - set(starts):
        assert start < earliest + BUFFER or any(timedelta(0) < start - o < BUFFER for o in starts)


@settings(max_examples=200, deadline=None)
@given(days())
def test_each_verdict_of_the_day_matches_the_patients_list(case):
    verdicts = classify_day(day=case["day"], **engine_inputs(case))
    first, last = local_day_bounds(case["tz"], case["day"])
    assert verdicts[0].start == first.astimezone(UTC) and all(first <= v.start < last for v in verdicts)
    shown = {v.start for v in verdicts if v.verdict is Verdict.OFFERED}
    assert shown == set(offered(case)) if case["online"] else not shown
