"""SPEC §22 "Fresh KPIs": the daily roll-ups plus today live give exactly the figures computed from
the raw rows, for every range and its previous period; the job is idempotent, fills missing days
and a past day can be recomputed after a late change."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.metrics import kpis, rollups
from core.metrics.periods import PARIS, period_for
from core.seed_history import seed_history
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


# --- Distinct accounts (who booked, who paid) from the rows' previous active day (migration 0013a) ---

def _account(tag: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A patient account (user id, patient id) that joined on 1 January."""
    with unit_of_work(SYSTEM) as uow:
        user = uow.session.execute(text("""INSERT INTO users (email, role, full_name, password_hash, created_at)
                                           VALUES (:e, 'patient', 'Patient', 'x', :c) RETURNING id"""),
                                   {"e": f"{tag}-{uuid.uuid4().hex[:6]}@tests.doktu.eu", "c": paris(1, month=1)}
                                   ).scalar_one()
        patient = uow.session.execute(text("INSERT INTO patients (user_id, created_at) VALUES (:u, :c) RETURNING id"),
                                      {"u": user, "c": paris(1, month=1)}).scalar_one()
        return user, patient


def _booked(clinic, account: tuple[uuid.UUID, uuid.UUID], *days: int, hour: int = 11) -> None:
    """A booking of its own (a `paid` funnel event; the appointment, later cancelled, weighs on no
    other figure) by the account on each of these March days, and its card payment."""
    user, patient = account
    with unit_of_work(SYSTEM) as uow:
        for day in days:
            appointment = uow.session.execute(text("""
                INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status, cancelled_at, created_at)
                VALUES (:d, :p, :s, :s + interval '30 minutes', 'cancelled', :s, :at) RETURNING id"""),
                {"d": clinic.doctors["D1"], "p": patient, "s": paris(day, hour) + timedelta(days=2),
                 "at": paris(day, hour)}).scalar_one()
            uow.session.execute(text("""INSERT INTO funnel_events (occurred_at, user_id, step, appointment_id)
                                        VALUES (:at, :u, 'paid', :a)"""),
                                {"at": paris(day, hour), "u": user, "a": appointment})
            uow.session.execute(text("""INSERT INTO payments (user_id, kind, provider, status, amount_cents,
                                            created_at, updated_at)
                                        VALUES (:u, 'visit', 'local', 'succeeded', 3500, :at, :at)"""),
                                {"u": user, "at": paris(day, hour)})


def _payments_of(account: tuple[uuid.UUID, uuid.UUID], day: int, status: str) -> None:
    """A late correction of the account's card payments of that March day (e.g. found failed:
    the account did not pay that day after all)."""
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("""UPDATE payments SET status = :st
                                     WHERE user_id = :u AND created_at >= :s AND created_at < :e"""),
                            {"st": status, "u": account[0], "s": paris(day), "e": paris(day + 1)})


def _distinct(range_name: str, now) -> dict:
    """The fresh distinct counts, after checking the whole fresh frame equals the raw figures."""
    period = period_for(range_name, now)
    fresh = rollups.fresh_figures(SYSTEM, period, now=now)
    raw = kpis.figures(SYSTEM, period)
    assert fresh is not None
    assert fresh.round(6).to_dict() == raw.round(6).to_dict()
    return {(p, c): int(fresh.loc[p, c]) for p in ("current", "previous") for c in ("booking_patients",
                                                                                     "paying_accounts")}


def test_distinct_accounts_counted_once_per_period(clinic):
    """Week of Monday 30 March: 24–30 March (the 29th is the 23-hour spring day), previous 17–23."""
    rollups.refresh(now=NOW)
    base, base_month = _distinct("week", NOW), _distinct("month", NOW)
    several, before_only, also_today, earlier_and_today = (_account(t) for t in ("several", "before", "today",
                                                                                 "earlier"))
    _booked(clinic, several, 24, 26, 29)  # three days of the week, one of them the DST day
    _booked(clinic, before_only, 20)  # only in the previous week
    _booked(clinic, also_today, 22, 26)  # both weeks, then today (live) too
    _booked(clinic, also_today, 30, hour=9)
    _booked(clinic, earlier_and_today, 21)  # the previous week and today only
    _booked(clinic, earlier_and_today, 30, hour=9)
    rollups.rollup_days([paris(d).date() for d in (20, 21, 22, 24, 26, 29)], now=NOW)
    found = _distinct("week", NOW)
    for column in ("booking_patients", "paying_accounts"):
        assert found["current", column] == base["current", column] + 3  # several, also_today, earlier_and_today
        assert found["previous", column] == base["previous", column] + 3  # before_only, also_today, earlier…
    # the month (1–30 March) counts each of the four once
    month = _distinct("month", NOW)
    assert month["current", "booking_patients"] == base_month["current", "booking_patients"] + 4
    assert rollups.refresh(now=NOW) == rollups.RECENT_DAYS and _distinct("week", NOW) == found  # idempotent


def test_recomputing_a_past_day_keeps_later_periods_exact(clinic):
    """An account's day removed or added in the middle: the next day's `prev_day` follows, so the
    periods after it still count the account exactly once (or not at all)."""
    removed, added = _account("removed"), _account("added")
    _booked(clinic, removed, 12, 20, 22)
    _booked(clinic, added, 23)
    rollups.refresh(now=NOW)
    wednesday = paris(25, 10)  # its week: 19–25 March, previous 12–18
    base = _distinct("week", wednesday)
    _payments_of(removed, 20, "failed")  # its payment of the 22nd now follows the 12th: still one payer
    _booked(clinic, added, 21)  # `added` now books on the 21st and the 23rd: still one booking patient
    rollups.rollup_days([paris(20).date(), paris(21).date()], now=NOW)
    assert _distinct("week", wednesday) == base
    _payments_of(removed, 22, "failed")  # and now no payment of it in the week at all
    rollups.rollup_days([paris(22).date()], now=NOW)
    after = _distinct("week", wednesday)
    assert after == {**base, ("current", "paying_accounts"): base["current", "paying_accounts"] - 1}
    _payments_of(removed, 20, "succeeded")  # the 20th's payment went through after all: a payer again
    rollups.rollup_days([paris(20).date()], now=NOW)
    assert _distinct("week", wednesday) == base
    with unit_of_work(SYSTEM) as uow:  # every row's prev_day is its account's previous day of that kind
        wrong = uow.session.execute(text("""
            SELECT count(*) FROM (SELECT prev_day, lag(day) OVER (PARTITION BY kind, user_id ORDER BY day) AS expected
                                    FROM kpi_day_accounts) x WHERE prev_day IS DISTINCT FROM expected""")).scalar_one()
    assert wrong == 0


@pytest.mark.parametrize("now", [datetime(2026, 4, 3, 10, tzinfo=PARIS), datetime(2026, 10, 29, 18, tzinfo=PARIS)],
                         ids=["spring-change", "autumn-change"])
def test_fresh_equals_raw_on_a_generated_history_across_the_dst_change(db, now):
    """Three months of generated history up to a few days after a clock change (29 March,
    25 October 2026); every range seen from each of the 12 days around the change equals the raw
    figures (distinct accounts included), and every row's prev_day is right."""
    with unit_of_work(SYSTEM) as uow:
        for i in range(3):
            user = uow.session.execute(text("""INSERT INTO users (email, role, full_name, password_hash, created_at)
                                               VALUES (:e, 'doctor', :n, 'x', :c) RETURNING id"""),
                                       {"e": f"dst-doc{i}-{uuid.uuid4().hex[:6]}@tests.doktu.eu", "n": f"Dr DST {i}",
                                        "c": now - timedelta(days=200)}).scalar_one()
            uow.session.execute(text("""INSERT INTO doctors (user_id, display_name, specialty, created_at)
                                        VALUES (:u, :n, 'General practice', :c)"""),
                                {"u": user, "n": f"Dr DST {i}", "c": now - timedelta(days=200)})
    report = seed_history(3, per_doctor_day=4, patients_per_doctor=25, now=now)
    assert report.appointments > 500
    rollups.refresh(now=now)
    for back in range(12):
        seen_from = now - timedelta(days=back)
        for range_name in RANGES:
            _distinct(range_name, seen_from)
    with unit_of_work(SYSTEM) as uow:
        counts = uow.session.execute(text("""
            SELECT count(*) FILTER (WHERE prev_day IS DISTINCT FROM expected),
                   count(*) FILTER (WHERE prev_day IS NOT NULL)
              FROM (SELECT prev_day, lag(day) OVER (PARTITION BY kind, user_id ORDER BY day) AS expected
                      FROM kpi_day_accounts) x""")).one()
    assert counts[0] == 0 and counts[1] > 100  # exact, and accounts do come back on several days
