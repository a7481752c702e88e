"""Each KPI against the hand-computed clinic of conftest.py (issue 9), per range, with the
previous period and the DST day; empty periods give 0 or None, never a division error."""

import pytest
from sqlalchemy import text

from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.errors import Forbidden
from core.metrics import kpis
from tests.integration.metrics.conftest import NOW, paris


def values(range_name: str, now=NOW) -> dict:
    return kpis.overview(SYSTEM, range_name, now=now).kpis["value"].to_dict()


def previous(range_name: str, now=NOW) -> dict:
    return kpis.overview(SYSTEM, range_name, now=now).kpis["previous"].to_dict()


def test_today(clinic):
    assert values("today") == {
        "booked": 3,  # A2, A3, A5 paid today (A1 was paid on the 28th)
        "completed": 1,  # A1 started today
        "noShowRate": 0.5,  # A3 ÷ (A1 + A3)
        "arpa": 4200,  # (A2 35 € + plan 29 € + A5 35 − 15 €) ÷ {P2, P3}; credit and the declined card are not revenue
        "appointmentsPerPatient": 1.5,  # 3 booked ÷ {P2, P3}
        "doctorUtilisation": pytest.approx(90 / 750),  # A1, A2, A3 ÷ (D1 4 slots 120 + D2 template 660 − 30)
        "bookingConversion": 0.75,  # held A2, A3, A4, A5; paid all but A4
        "newPatients": 2,  # P3 and P5 (00:30 Paris = 22:30 UTC the day before)
    }


def test_yesterday_is_the_23_hour_day(clinic):
    assert values("yesterday") == {
        "booked": 1, "completed": 1, "noShowRate": 0.0, "arpa": 3500, "appointmentsPerPatient": 1.0,
        "doctorUtilisation": pytest.approx(30 / 1320),  # D2 joined at noon: both doctors offer the template
        "bookingConversion": 1.0,
        "newPatients": 2,  # P2 and P6 (00:30 Paris = 23:30 UTC on the 28th)
    }


def test_today_compares_with_yesterday(clinic):
    assert previous("today") == values("yesterday")
    overview = kpis.overview(SYSTEM, "today", now=NOW).kpis
    assert overview.loc["booked", "change"] == 2 and overview.loc["booked", "change_ratio"] == 2.0
    assert overview.loc["noShowRate", "change"] == 0.5 and overview.loc["arpa", "change"] == 700


def test_the_day_before_yesterday_has_one_doctor(clinic):
    before = previous("yesterday")
    assert before["booked"] == 1 and before["completed"] == 0 and before["noShowRate"] is None
    assert before["doctorUtilisation"] == 0.0  # D1's template, nothing booked on the 28th
    assert before["newPatients"] == 0


def test_week(clinic):
    assert values("week") == {
        "booked": 5, "completed": 2, "noShowRate": pytest.approx(1 / 3),
        "arpa": round(15400 / 3),  # A1 + A6 + A2 + plan + (A5 − refund) over P1, P2, P3
        "appointmentsPerPatient": pytest.approx(5 / 3),
        # D1: six template days + its explicit 30th (6 × 660 + 120); D2: 29th (660) and 30th (630).
        "doctorUtilisation": pytest.approx(120 / (6 * 660 + 120 + 660 + 630)),
        "bookingConversion": pytest.approx(5 / 6), "newPatients": 4,
    }
    assert previous("week") == {"booked": 0, "completed": 0, "noShowRate": None, "arpa": None,
                                "appointmentsPerPatient": None, "doctorUtilisation": 0.0,
                                "bookingConversion": None, "newPatients": 1}  # P4 on the 23rd


def test_month_counts_from_the_first(clinic):
    month = values("month")
    assert month["booked"] == 5 and month["newPatients"] == 5  # P4 too; P1 joined in February
    assert month["doctorUtilisation"] == pytest.approx(120 / (29 * 660 + 120 + 660 + 630))


def test_a_hold_paid_the_next_day_converts_in_its_own_period(clinic):
    # Seen from the 31st: the 30th's holds keep their cohort rate; the 31st has no hold yet.
    assert values("yesterday", now=paris(31, 12))["bookingConversion"] == 0.75
    assert values("today", now=paris(31, 12))["bookingConversion"] is None


def test_an_empty_period_is_zero_or_undefined(clinic):
    empty = values("today", now=paris(15, 12, month=1))
    assert empty == {"booked": 0, "completed": 0, "noShowRate": None, "arpa": None, "appointmentsPerPatient": None,
                     "doctorUtilisation": 0.0, "bookingConversion": None, "newPatients": 0}
    before_any_doctor = values("week", now=paris(1, 12, month=6) .replace(year=2025))
    assert before_any_doctor["doctorUtilisation"] is None


def test_funnel_counts_people_per_step(clinic):
    steps = kpis.funnel(SYSTEM, "today", now=NOW).steps.set_index("step")
    assert steps.loc["slot_held", "people"] == 2  # P2 (A2, A5) and P3 (A3, A4)
    assert steps.loc["paid", "people"] == 2
    assert steps.loc["joined", "people"] == 0


def test_daily_series_per_paris_day(clinic):
    _, frame = kpis.daily(SYSTEM, "week", now=NOW)
    assert len(frame) == 7 and frame["booked"].sum() == 5
    assert frame.loc[paris(28).date(), "booked"] == 1 and frame.loc[paris(30).date(), "booked"] == 3
    assert frame.loc[paris(30).date(), "net_revenue_cents"] == 8400
    assert frame.loc[paris(29).date(), "new_patients"] == 2 and frame.loc[paris(30).date(), "new_patients"] == 2


@pytest.mark.parametrize("role", ["patient", "doctor", "anonymous"])
def test_only_staff_read_metrics(db, role):
    with pytest.raises(Forbidden):
        kpis.overview(Actor(None, role), "today", now=NOW)


def test_figures_are_a_snapshot_shared_for_a_minute(clinic, at_now, app, monkeypatch):
    first = kpis.overview(SYSTEM, "today")
    assert first.kpi("booked")["value"] == 3
    with unit_of_work(SYSTEM) as uow:  # one more paid booking today
        uow.session.execute(text("""INSERT INTO funnel_events (occurred_at, user_id, step, appointment_id)
                                    VALUES (:t, :u, 'paid', :a)"""),
                            {"t": paris(30, 9, 30), "u": clinic.user("P4"), "a": clinic.appointments["A4"]})
    assert kpis.overview(SYSTEM, "today").kpi("booked")["value"] == 3  # the snapshot
    assert kpis.overview(SYSTEM, "today").generated_at == first.generated_at
    assert kpis.overview(SYSTEM, "week").kpi("booked")["value"] == 6  # another range, its own
    monkeypatch.setattr(app.extensions["doktu"], "cache", None)
    assert kpis.overview(SYSTEM, "today").kpi("booked")["value"] == 4  # no cache: computed afresh


def test_a_cache_that_fails_is_skipped(clinic, at_now, app, monkeypatch):
    class Down:
        def get(self, key):
            raise ConnectionError("redis is down")

        def set(self, key, value, ex):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(app.extensions["doktu"], "cache", Down())
    assert kpis.overview(SYSTEM, "today").kpi("booked")["value"] == 3
