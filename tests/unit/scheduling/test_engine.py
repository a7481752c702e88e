"""The pure availability engine, like dateutil's rrule tests: literal expected slots (SPEC §3).

`offered` is what a patient is shown (the 45-minute rhythm, issue 24); `free` is every start the
spec's rules allow (what a hold accepts): the spec's own numbers are stated on it."""

import itertools
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.scheduling.engine import (
    Busy,
    ExplicitSlot,
    Hold,
    Verdict,
    WorkingTemplate,
    classify_day,
    next_free,
    template_starts,
    unified_availability,
)

PARIS = ZoneInfo("Europe/Paris")
ME, SOMEONE = uuid.uuid4(), uuid.uuid4()


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def offered(day=3, *, now=None, month=3, **kwargs) -> list[datetime]:
    kwargs.setdefault("explicit", [])
    kwargs.setdefault("appointment_starts", [])
    result = unified_availability(tz=PARIS, now=now or at(2, 8), window_start=at(day, 0, month=month),
                                  window_end=at(day, 0, month=month) + timedelta(days=1), **kwargs)
    return [a.start.astimezone(PARIS) for a in result if a.is_available]


def hhmm(starts) -> list[str]:
    return [s.strftime("%H:%M") for s in starts]


def free(day=3, **kwargs) -> list[datetime]:
    return offered(day, rhythm=False, **kwargs)


RHYTHM = ["10:00", "10:45", "11:30", "12:15", "13:00", "13:45", "14:30", "15:15", "16:00", "16:45", "17:30",
          "18:15", "19:00", "19:45", "20:30"]


def test_template_day_is_free_10_00_to_20_30_every_15_minutes():
    got = hhmm(free())
    assert got[:3] == ["10:00", "10:15", "10:30"] and got[-2:] == ["20:15", "20:30"] and len(got) == 43


def test_a_template_day_offers_a_start_every_45_minutes_all_bookable_together():
    assert hhmm(offered()) == RHYTHM


def test_booking_an_offered_start_leaves_every_other_offered_start_offered():
    for taken in (at(3, 10), at(3, 14, 30), at(3, 20, 30)):
        assert hhmm(offered(appointment_starts=[taken])) == [t for t in RHYTHM if t != taken.strftime("%H:%M")]


def test_a_booking_off_the_rhythm_re_anchors_it_45_minutes_later():
    got = hhmm(offered(appointment_starts=[at(3, 14)]))
    assert got[:6] == ["10:00", "10:45", "11:30", "12:15", "13:00", "14:45"]
    assert got[6:8] == ["15:30", "16:15"]


def test_explicit_day_opens_only_its_slots_on_the_quarter_hours_inside_them():
    slots = [ExplicitSlot(uuid.uuid4(), at(3, h, m), at(3, h, m) + timedelta(minutes=30), True)
             for h, m in ((8, 0), (8, 30), (14, 0))]
    result = unified_availability(tz=PARIS, explicit=slots, appointment_starts=[], now=at(2, 8),
                                  window_start=at(3, 0), window_end=at(4, 0), rhythm=False)
    assert hhmm(a.start.astimezone(PARIS) for a in result) == ["08:00", "08:15", "08:30", "14:00"]
    assert [a.slot_id for a in result] == [slots[0].slot_id, None, slots[1].slot_id, slots[2].slot_id]
    assert all(a.end - a.start == timedelta(minutes=30) for a in result)
    assert hhmm(offered(explicit=slots)) == ["08:00", "14:00"]


def test_an_explicit_day_keeps_the_same_rhythm_as_a_template_day():
    """Issue 24: a weekday of explicit half-hour slots 10:00–21:00 offers what the template offers."""
    slots = [ExplicitSlot(uuid.uuid4(), at(3, 10) + timedelta(minutes=30 * i),
                          at(3, 10) + timedelta(minutes=30 * (i + 1)), True) for i in range(22)]
    assert hhmm(offered(explicit=slots)) == RHYTHM
    assert len(free(explicit=slots)) == 43


def test_a_14_00_booking_blocks_13_30_to_14_30_and_14_45_is_next():
    got = hhmm(free(appointment_starts=[at(3, 14)]))
    assert "13:15" in got
    assert not {"13:30", "13:45", "14:00", "14:15", "14:30"} & set(got)
    assert got[got.index("13:15") + 1] == "14:45"


def test_the_booking_itself_is_listed_as_booked():
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[at(3, 14)], now=at(2, 8),
                                  window_start=at(3, 0), window_end=at(4, 0))
    booked = [a for a in result if a.is_booked]
    assert [(a.start, a.end - a.start, a.is_available) for a in booked] == [
        (at(3, 14), timedelta(minutes=30), False)]


def test_exactly_60_minutes_notice_is_bookable_59_59_is_not():
    assert hhmm(free(2, now=at(2, 10)))[0] == "11:00"
    assert hhmm(free(2, now=at(2, 10) + timedelta(seconds=1)))[0] == "11:15"
    assert hhmm(free(2, now=at(2, 10) - timedelta(seconds=1)))[0] == "11:00"
    assert hhmm(offered(2, now=at(2, 10, 30)))[0] == "11:30"
    assert hhmm(offered(2, now=at(2, 10, 30) + timedelta(seconds=1)))[0] == "12:15"


def test_the_rhythm_does_not_slide_as_the_clock_moves():
    day = set(RHYTHM)
    for minutes in range(0, 12 * 60, 5):
        now = at(3, 8) + timedelta(minutes=minutes)
        got = hhmm(offered(now=now))
        assert set(got) <= day and got == [t for t in RHYTHM if at(3, *map(int, t.split(":"))) >= now + timedelta(hours=1)]


def test_a_turned_off_slot_is_never_refilled_by_the_template():
    off = [ExplicitSlot(uuid.uuid4(), at(3, 14), at(3, 14, 30), False)]
    got = hhmm(free(explicit=off))
    assert not {"13:45", "14:00", "14:15"} & set(got)
    assert {"13:30", "14:30"} <= set(got) and len(got) == 40
    assert hhmm(offered(explicit=off)) == [t for t in RHYTHM if t != "13:45"]


def test_turned_off_on_an_explicit_day_stays_off():
    slots = [ExplicitSlot(uuid.uuid4(), at(3, 8), at(3, 8, 30), True),
             ExplicitSlot(uuid.uuid4(), at(3, 9), at(3, 9, 30), False)]
    assert hhmm(offered(explicit=slots)) == ["08:00"]


def test_offline_doctor_offers_nothing():
    assert offered(online=False, appointment_starts=[at(3, 14)]) == []


def test_someone_elses_live_hold_hides_the_start_and_its_neighbours():
    holds = [Hold(at(3, 14), SOMEONE, at(2, 8, 15))]
    got = hhmm(offered(holds=holds, viewer_id=ME))
    assert not {"13:30", "14:00", "14:30"} & set(got) and "14:45" in got


def test_the_viewer_sees_their_own_hold_as_theirs():
    slot_id = uuid.uuid4()
    holds = [Hold(at(3, 14), ME, at(2, 8, 15), slot_id)]
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], holds=holds, now=at(2, 8),
                                  window_start=at(3, 14), window_end=at(3, 14, 1), viewer_id=ME)
    assert [(a.is_available, a.held_by_viewer, a.slot_id) for a in result] == [(True, True, slot_id)]


def test_an_expired_hold_is_ignored():
    holds = [Hold(at(3, 14), SOMEONE, at(2, 8))]  # until == now: expired
    assert "14:00" in hhmm(free(holds=holds, viewer_id=ME))
    assert hhmm(offered(holds=holds, viewer_id=ME)) == RHYTHM


def test_the_viewer_sees_the_rhythm_everyone_sees_plus_their_hold():
    holds = [Hold(at(3, 14), ME, at(2, 8, 15))]
    mine = hhmm(offered(holds=holds, viewer_id=ME))
    theirs = hhmm(offered(holds=holds, viewer_id=SOMEONE))
    assert "14:00" not in theirs and sorted([*theirs, "14:00"]) == mine
    assert {"13:45", "14:15"} <= set(hhmm(free(holds=holds, viewer_id=ME)))  # a new hold may replace it


def test_an_external_busy_interval_blocks_what_it_overlaps():
    got = hhmm(free(busy=[Busy(at(3, 12), at(3, 13))]))
    assert not {"11:45", "12:00", "12:30", "12:45"} & set(got) and {"11:30", "13:00"} <= set(got)
    assert hhmm(offered(busy=[Busy(at(3, 12), at(3, 13))])) == [t for t in RHYTHM if t != "12:15"]


def test_window_edges_are_start_inclusive_end_exclusive():
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=at(2, 8),
                                  window_start=at(3, 10), window_end=at(3, 11), rhythm=False)
    assert hhmm(a.start.astimezone(PARIS) for a in result) == ["10:00", "10:15", "10:30", "10:45"]
    # The rhythm is the whole day's: a window that starts later does not move it.
    late = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=at(2, 8),
                                window_start=at(3, 10, 15), window_end=at(3, 12))
    assert hhmm(a.start.astimezone(PARIS) for a in late) == ["10:45", "11:30"]


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=datetime(2026, 3, 2, 8),
                             window_start=at(3, 0), window_end=at(4, 0))


def test_next_free_takes_the_first_bookable_entries():
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[at(3, 10)], now=at(2, 8),
                                  window_start=at(3, 0), window_end=at(4, 0))
    assert hhmm(a.start.astimezone(PARIS) for a in next_free(result, 2)) == ["10:45", "11:30"]


# DST: Europe/Paris springs forward on 29 March 2026 (02:00 → 03:00) and falls back on
# 25 October 2026 (03:00 → 02:00).
ALL_DAY = WorkingTemplate(day_start=time(0), day_end=time(0), step=timedelta(minutes=15))


def test_default_template_on_both_change_days_has_all_43_starts():
    for day, month in ((29, 3), (25, 10)):
        got = hhmm(free(day, month=month, now=at(1, 0)))
        assert len(got) == 43 and got[0] == "10:00" and got[-1] == "20:30"
        assert hhmm(offered(day, month=month, now=at(1, 0))) == RHYTHM


def test_the_rhythm_across_a_clock_change_is_45_real_minutes():
    for day, month in ((29, 3), (25, 10)):
        result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=at(1, 0), template=ALL_DAY,
                                      window_start=at(day, 0, month=month),
                                      window_end=at(day, 0, month=month) + timedelta(days=1))
        starts = [a.start for a in result]
        assert all(b - a == timedelta(minutes=45) for a, b in itertools.pairwise(starts))
        assert len(starts) == ((23 if month == 3 else 25) * 60 - 30) // 45 + 1  # 31 on the 23 h day, 33 on the 25 h one


def test_spring_forward_day_has_no_02xx_starts_and_no_duplicates():
    starts = template_starts(PARIS, at(29, 0), at(30, 0), ALL_DAY)
    local = [s.astimezone(PARIS) for s in starts]
    assert not [s for s in local if s.hour == 2]
    assert len(starts) == len(set(starts)) == 23 * 4 - 1  # a 23-hour day; the last start ends at midnight
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(starts))


def test_fall_back_day_has_every_real_instant_once():
    starts = template_starts(PARIS, at(25, 0, month=10), at(26, 0, month=10), ALL_DAY)
    assert len(starts) == len(set(starts)) == 25 * 4 - 1  # a 25-hour day
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(starts))
    two_oclock = [s for s in starts if s.astimezone(PARIS).hour == 2]
    assert len(two_oclock) == 8  # 02:00–02:45 twice, as two different real instants


def test_a_consultation_across_the_change_lasts_30_real_minutes():
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[], now=at(1, 0),
                                  window_start=at(29, 1, 45), window_end=at(29, 1, 46), template=ALL_DAY,
                                  rhythm=False)
    (entry,) = result
    assert entry.end - entry.start == timedelta(minutes=30)
    assert entry.end.astimezone(PARIS).strftime("%H:%M") == "03:15"


def test_results_are_utc_and_sorted():
    result = unified_availability(tz=PARIS, explicit=[], appointment_starts=[at(3, 14)], now=at(2, 8),
                                  window_start=at(3, 0), window_end=at(4, 0))
    assert all(a.start.tzinfo is UTC for a in result)
    assert [a.start for a in result] == sorted(a.start for a in result)


def verdicts(**kwargs) -> dict[str, Verdict]:
    kwargs.setdefault("explicit", [])
    kwargs.setdefault("appointment_starts", [])
    found = classify_day(tz=PARIS, day=at(3, 0).date(), **kwargs)
    return {c.start.astimezone(PARIS).strftime("%H:%M"): c.verdict for c in found}


def test_every_quarter_hour_of_a_day_has_a_verdict_and_a_reason():
    got = verdicts(appointment_starts=[at(3, 14)], holds=[Hold(at(3, 17), SOMEONE, at(3, 23))],
                   busy=[Busy(at(3, 19), at(3, 19, 30))], explicit=[ExplicitSlot(None, at(3, 20), at(3, 20, 30), False)],
                   now=at(3, 10, 20))
    assert len(got) == 96
    assert got["09:45"] == got["20:45"] == got["23:45"] == Verdict.OUTSIDE_HOURS
    assert got["10:00"] == Verdict.PAST and got["11:15"] == Verdict.NOTICE and got["11:30"] == Verdict.OFFERED
    assert got["13:30"] == got["14:30"] == Verdict.BUFFER
    assert got["13:45"] == got["14:00"] == got["14:15"] == Verdict.BOOKED  # would overlap it
    assert got["14:45"] == Verdict.OFFERED and got["15:00"] == Verdict.RHYTHM
    assert got["16:30"] == got["17:00"] == Verdict.HELD
    assert got["18:45"] == got["19:15"] == Verdict.BUSY
    assert got["19:45"] == got["20:00"] == got["20:15"] == Verdict.TURNED_OFF
    assert got["20:30"] == Verdict.OFFERED


def test_an_offline_doctor_s_open_times_say_so():
    got = verdicts(online=False, now=at(2, 8))
    assert got["12:00"] == Verdict.OFFLINE and got["08:00"] == Verdict.OUTSIDE_HOURS


def test_the_verdicts_of_a_clock_change_day_cover_its_real_quarter_hours():
    for day, count in ((at(29, 0).date(), 92), (at(25, 0, month=10).date(), 100)):
        assert len(classify_day(tz=PARIS, day=day, explicit=[], appointment_starts=[], now=at(1, 0))) == count
