"""SPEC §22 "Fresh KPIs": the daily roll-ups plus today live give exactly the figures computed from
the raw rows, for every range and its previous period; the job is idempotent, fills missing days
and a past day can be recomputed after a late change."""

import pytest
from sqlalchemy import text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.metrics import kpis, rollups
from core.metrics.periods import period_for
from tests.integration.metrics.conftest import NOW, paris

RANGES = ("today", "yesterday", "week", "month")


def rolled_days():
    with unit_of_work(SYSTEM) as uow:
        return {r.day: dict(r._mapping) for r in uow.session.execute(text("SELECT * FROM kpi_days ORDER BY day"))}


@pytest.mark.parametrize("range_name", RANGES)
def test_rollups_plus_today_live_equal_the_raw_figures(clinic, range_name):
    period = period_for(range_name, NOW)
    assert rollups.fresh_figures(SYSTEM, period, now=NOW) is None  # no roll-up yet: the caller computes live
    rollups.refresh(now=NOW)
    fresh = rollups.fresh_figures(SYSTEM, period, now=NOW)
    raw = kpis.figures(SYSTEM, period)
    assert fresh is not None
    assert fresh.round(6).to_dict() == raw.round(6).to_dict()
    # and the overview (which prefers the roll-ups) shows the same KPIs
    assert kpis.overview(SYSTEM, range_name, now=NOW).kpis["value"].to_dict() == \
        kpis.shape_overview(raw.loc["current"], raw.loc["previous"])["value"].to_dict()


def test_the_job_is_idempotent_and_recomputes_a_past_day(clinic):
    first = rollups.refresh(now=NOW)
    assert first >= 30  # every day since the first data, once
    before = rolled_days()
    assert rollups.refresh(now=NOW) == rollups.RECENT_DAYS  # again: only the recent days, same figures
    assert {d: {k: v for k, v in r.items() if k != "computed_at"} for d, r in rolled_days().items()} == \
        {d: {k: v for k, v in r.items() if k != "computed_at"} for d, r in before.items()}
    yesterday = paris(29, 12).date()
    assert before[yesterday]["completed"] == 1  # A6
    with unit_of_work(SYSTEM) as uow:  # a late correction: A6 was in fact a no-show
        uow.session.execute(text("UPDATE appointments SET status = 'no_show' WHERE id = :a"),
                            {"a": clinic.appointments["A6"]})
    assert rollups.rollup_days([yesterday], now=NOW) == 1
    after = rolled_days()[yesterday]
    assert (after["completed"], after["no_show"]) == (0, 1)
    assert rollups.rollup_days([NOW.date()], now=NOW) == 0  # today is always live, never rolled up


def test_only_staff_read_the_rollups(clinic, make_user):
    from core.errors import Forbidden

    rollups.refresh(now=NOW)
    with pytest.raises(Forbidden):
        rollups.fresh_figures(make_user("patient").actor, period_for("week", NOW), now=NOW)
    with unit_of_work(make_user("doctor").actor) as uow:  # row-level security: nothing to read
        assert uow.session.execute(text("SELECT count(*) FROM kpi_days")).scalar_one() == 0
