"""KPI shaping (pure): hand-computed figures → KPIs and their changes; empty periods give 0 or
"—", never a division error; formatting for tiles."""

import re
from datetime import date
from pathlib import Path

import pytest

from core.metrics.definitions import KPIS, empty_figures, format_change, format_value, shape_overview
from core.metrics.kpis import shape_daily, shape_funnel
from core.metrics.periods import Period

README = Path(__file__).parents[3] / "README.md"

CURRENT = {"booked": 8, "booking_patients": 5, "completed": 6, "no_show": 2, "booked_minutes": 300,
           "offered_minutes": 1200, "net_revenue_cents": 10500, "paying_accounts": 3, "held": 10, "held_paid": 8,
           "new_patients": 4}
PREVIOUS = {"booked": 4, "booking_patients": 4, "completed": 3, "no_show": 1, "booked_minutes": 120,
            "offered_minutes": 1320, "net_revenue_cents": 7000, "paying_accounts": 2, "held": 5, "held_paid": 4,
            "new_patients": 0}


def test_kpis_from_hand_computed_figures():
    kpis = shape_overview(CURRENT, PREVIOUS)
    value = kpis["value"].to_dict()
    assert value == {"booked": 8, "completed": 6, "noShowRate": 0.25, "arpa": 3500, "appointmentsPerPatient": 1.6,
                     "doctorUtilisation": 0.25, "bookingConversion": 0.8, "newPatients": 4}
    previous = kpis["previous"].to_dict()
    assert previous["noShowRate"] == pytest.approx(1 / 4) and previous["arpa"] == 3500
    assert previous["doctorUtilisation"] == pytest.approx(120 / 1320)


def test_changes_are_differences_and_relative_changes():
    kpis = shape_overview(CURRENT, PREVIOUS).set_index("key")
    assert kpis.loc["booked", "change"] == 4 and kpis.loc["booked", "change_ratio"] == 1.0
    assert kpis.loc["noShowRate", "change"] == 0 and kpis.loc["arpa", "change"] == 0
    assert kpis.loc["newPatients", "change"] == 4 and kpis.loc["newPatients", "change_ratio"] is None  # from 0


def test_an_empty_period_gives_zero_counts_and_no_ratio():
    kpis = shape_overview(empty_figures(), empty_figures()).set_index("key")
    assert kpis.loc["booked", "value"] == 0 and kpis.loc["completed", "value"] == 0
    assert kpis.loc["newPatients", "value"] == 0
    for key in ("noShowRate", "arpa", "appointmentsPerPatient", "doctorUtilisation", "bookingConversion"):
        assert kpis.loc[key, "value"] is None and kpis.loc[key, "change"] is None, key
    assert kpis.loc["booked", "change"] == 0 and kpis.loc["booked", "change_ratio"] is None


def test_missing_figures_count_as_zero():
    kpis = shape_overview({"booked": 3}, {}).set_index("key")
    assert kpis.loc["booked", "value"] == 3 and kpis.loc["arpa", "value"] is None


def test_each_kpi_has_a_definition_and_the_readme_quotes_it():
    readme = " ".join(README.read_text().split())
    for kpi in KPIS:
        assert len(kpi.definition) > 30, kpi.key
        assert kpi.definition in readme, f"README lacks the definition of {kpi.label}"


@pytest.mark.parametrize(("unit", "value", "shown"), [
    ("count", 1204, "1,204"), ("count", 0, "0"), ("ratio", 0.125, "12.5 %"), ("ratio", None, "—"),
    ("cents", 3456, "€34.56"), ("cents", None, "—"), ("decimal", 1.5, "1.50"),
])
def test_values_are_formatted_for_tiles(unit, value, shown):
    assert format_value(unit, value) == shown


@pytest.mark.parametrize(("unit", "change", "ratio", "shown"), [
    ("count", 3, 0.5, "+50 %"), ("count", -1, -0.25, "−25 %"), ("count", 4, None, "new"), ("count", 0, None,
                                                                                              "no change"),
    ("ratio", 0.021, 0.3, "+2.1 pts"), ("ratio", -0.0003, -0.01, "no change"), ("ratio", None, None, "—"),
    ("cents", 150, 0.05, "+5 %"),
])
def test_changes_are_formatted_for_tiles(unit, change, ratio, shown):
    assert format_change(unit, change, ratio) == shown


def test_funnel_shaping_counts_people_at_their_furthest_step_and_every_step_before():
    """Rows are people per furthest step (SPEC §22): 100 only viewed, 20 stopped after holding a
    time, 10 paid — so 130 viewed, 30 held, 10 reached every step up to paid."""
    rows = [{"step": "paid", "people": 10}, {"step": "availability_viewed", "people": 100},
            {"step": "slot_held", "people": 20}]
    steps = shape_funnel(rows)
    assert list(steps["step"]) == ["availability_viewed", "slot_held", "signed_up", "checkout_started", "paid",
                                   "device_test_passed", "joined"]
    assert list(steps["people"]) == [130, 30, 10, 10, 10, 0, 0]
    assert steps["from_previous_step"].tolist() == [None, 30 / 130, 10 / 30, 1.0, 1.0, 0.0, None]
    assert steps["from_first_step"].tolist()[4] == 10 / 130


def test_funnel_shaping_of_nothing():
    steps = shape_funnel([])
    assert steps["people"].sum() == 0 and set(steps["from_first_step"]) == {None}


def test_daily_shaping_fills_the_days_without_rows():
    period = Period("week", date(2026, 3, 25), 7)
    rows = [{"day": date(2026, 3, 29), "booked": 3, "completed": 1, "no_show": 0, "net_revenue_cents": 3500,
             "paying_accounts": 1, "new_patients": 2}]
    frame = shape_daily(rows, period)
    assert list(frame.index) == period.day_list()
    assert frame.loc[date(2026, 3, 29), "booked"] == 3 and frame["booked"].sum() == 3
    assert frame.loc[date(2026, 3, 30)].tolist() == [0] * 6
    assert re.fullmatch(r"int\d+", str(frame["booked"].dtype))
