"""Fresh KPIs on a million appointments (SPEC §22): daily roll-ups, today computed live.

A Paris day's additive figures (booked, holds and how many got paid, completed, no-shows, booked
and offered minutes, net revenue, new patients) are computed once by the same SQL as the live
figures (`core.metrics.kpis.FIGURE_QUERIES`, over that one day) and kept in `kpi_days`; the accounts
behind the distinct counts (who booked, who paid) in `kpi_day_accounts`. A week or a month is then
the sum of its days' rows, its distinct accounts counted over their short lists, plus today computed
live. The job (`jobs.metrics.rollup_kpis_job`, every 10 minutes) recomputes the last
`RECENT_DAYS` days — what settles late (a no-show settled after the window, a payment of a hold
made before midnight, a refund) lands in them — and fills any day missing since the first data;
`rollup_days` recomputes any past day on demand (`doktu kpis rollup`). Idempotent: a day is
replaced whole in one transaction. Where a day of a period has no roll-up yet, the figures are
computed live as before (`fresh_figures` answers None).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import text

from core import clock
from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.metrics.definitions import FIGURES
from core.metrics.kpis import FIGURE_QUERIES, HELD_FIGURES_OF_A_DAY, require_staff, tune_for_analytics
from core.metrics.periods import PARIS, Period, local_midnight, period_for

RECENT_DAYS = 8  # the settlement looks back 7 days; refunds and late payments land within them
MAX_DAYS = 800  # how far back the job fills missing days
ADDITIVE = ("booked", "held", "held_paid", "completed", "no_show", "booked_minutes", "offered_minutes",
            "net_revenue_cents", "new_patients")

_BOOKING_ACCOUNTS = """SELECT DISTINCT user_id FROM funnel_events
 WHERE step = 'paid' AND appointment_id IS NOT NULL AND user_id IS NOT NULL
   AND occurred_at >= :s AND occurred_at < :e"""
_PAYING_ACCOUNTS = """SELECT DISTINCT user_id FROM payments
 WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND provider <> 'credit'
   AND created_at >= :s AND created_at < :e"""


def _day_params(day: date) -> dict:
    """The live queries' parameters for one day, with an empty previous period."""
    start, end = local_midnight(day, PARIS), local_midnight(day + timedelta(days=1), PARIS)
    return {"s": start, "e": end, "ps": start, "tz": PARIS.key, "first": day, "last": day, "first_current": day}


# A past day's figures: the live queries, but whether a hold got paid is probed per hold (see
# HELD_FIGURES_OF_A_DAY); today keeps the live query, whose hash of today's payments is small.
PAST_DAY_QUERIES = {**FIGURE_QUERIES, "held": HELD_FIGURES_OF_A_DAY}


def _day_figures(session, day: date, queries: dict = FIGURE_QUERIES) -> dict:
    params = _day_params(day)
    found = dict.fromkeys(ADDITIVE, 0.0)
    for query in queries.values():
        for row in session.execute(query, params).mappings().all():
            if row["period"] != "current":
                continue
            for column, value in row.items():
                if column in found and value is not None:
                    found[column] = float(value)
    return found


def rollup_days(days: list[date], *, now: datetime | None = None) -> int:
    """(Re)compute the roll-ups of `days` (past days; today and later are skipped: today is live).
    Each day is replaced whole, as the system, in its own transaction. Returns the days written."""
    today = period_for("today", now or clock.now(), PARIS).first_day
    written = 0
    for day in sorted(set(days)):
        if day >= today:
            continue
        params = _day_params(day)
        with unit_of_work(SYSTEM) as uow:
            s = uow.session
            tune_for_analytics(s)
            figures = _day_figures(s, day, PAST_DAY_QUERIES)
            s.execute(text("DELETE FROM kpi_days WHERE day = :d"), {"d": day})
            s.execute(text("DELETE FROM kpi_day_accounts WHERE day = :d"), {"d": day})
            s.execute(text(f"""INSERT INTO kpi_days (day, {", ".join(ADDITIVE)}, computed_at)
                               VALUES (:d, {", ".join(":" + c for c in ADDITIVE)}, :at)"""),
                      {"d": day, "at": clock.now(), **{c: round(figures[c]) if c not in ("booked_minutes",
                                                                                           "offered_minutes")
                                                       else figures[c] for c in ADDITIVE}})
            for kind, sql in (("booking", _BOOKING_ACCOUNTS), ("paying", _PAYING_ACCOUNTS)):
                s.execute(text(f"INSERT INTO kpi_day_accounts (kind, day, user_id) SELECT :k, :d, user_id "
                               f"FROM ({sql}) x"), {**params, "k": kind, "d": day})
        written += 1
    return written


def first_data_day() -> date | None:
    """The first Paris day with anything to count (the oldest appointment, payment, event, patient,
    or listed doctor — a doctor offers time from the day they joined)."""
    with unit_of_work(SYSTEM) as uow:
        first = uow.session.execute(text("""SELECT least((SELECT min(start_at) FROM appointments),
                                                           (SELECT min(created_at) FROM doctors
                                                             WHERE status <> 'pending'),
                                                           (SELECT min(created_at) FROM payments),
                                                           (SELECT min(occurred_at) FROM funnel_events),
                                                           (SELECT min(created_at) FROM patients))""")).scalar()
    return None if first is None else first.astimezone(PARIS).date()


def refresh(*, now: datetime | None = None) -> int:
    """The job: recompute the last RECENT_DAYS days and fill every missing day since the first data
    (at most MAX_DAYS back). Returns the days written."""
    now = now or clock.now()
    today = period_for("today", now, PARIS).first_day
    first = first_data_day()
    if first is None:
        return 0
    first = max(first, today - timedelta(days=MAX_DAYS))
    with unit_of_work(SYSTEM) as uow:
        have = set(uow.session.scalars(text("SELECT day FROM kpi_days WHERE day >= :f"), {"f": first}))
    wanted = [first + timedelta(days=i) for i in range((today - first).days)]
    missing = [d for d in wanted if d not in have]
    recent = [today - timedelta(days=i) for i in range(1, RECENT_DAYS + 1) if today - timedelta(days=i) >= first]
    return rollup_days(missing + recent, now=now)


_SUMS = text(f"""
SELECT CASE WHEN day >= :first_current THEN 'current' ELSE 'previous' END AS period, count(*) AS days,
       {", ".join(f"sum({c}) AS {c}" for c in ADDITIVE)}
  FROM kpi_days WHERE day >= :first AND day <= :last_rolled GROUP BY 1
""")
_DISTINCT = text(f"""
SELECT p.period, p.kind, count(DISTINCT p.user_id) AS accounts FROM (
  SELECT CASE WHEN day >= :first_current THEN 'current' ELSE 'previous' END AS period, kind, user_id
    FROM kpi_day_accounts WHERE day >= :first AND day <= :last_rolled
  UNION ALL
  SELECT 'current', 'booking', user_id FROM ({_BOOKING_ACCOUNTS.replace(':s', ':ts').replace(':e', ':te')}) b
  UNION ALL
  SELECT 'current', 'paying', user_id FROM ({_PAYING_ACCOUNTS.replace(':s', ':ts').replace(':e', ':te')}) c
) p GROUP BY 1, 2
""")


def fresh_figures(actor: Actor, period: Period, *, now: datetime | None = None) -> pd.DataFrame | None:
    """The figures of `period` and the previous one from the roll-ups plus today live — the frame
    `core.metrics.kpis.figures` returns — or None when a past day of them has no roll-up yet."""
    require_staff(actor)
    today = period_for("today", now or clock.now(), PARIS).first_day
    previous = period.previous()
    last_rolled = min(period.last_day, today - timedelta(days=1))
    expected = (last_rolled - previous.first_day).days + 1
    live_today = period.first_day <= today <= period.last_day
    live = _day_params(today) if live_today else {"s": period.end, "e": period.end}
    frame = pd.DataFrame(0.0, index=["current", "previous"], columns=list(FIGURES))
    with unit_of_work(actor) as uow:
        s = uow.session
        tune_for_analytics(s)
        params = {"first": previous.first_day, "first_current": period.first_day, "last_rolled": last_rolled,
                  "ts": live["s"], "te": live["e"]}
        rows = s.execute(_SUMS, params).mappings().all()
        if sum(int(r["days"]) for r in rows) != max(expected, 0):
            return None
        for row in rows:
            for column in ADDITIVE:
                frame.loc[row["period"], column] = float(row[column] or 0)
        for row in s.execute(_DISTINCT, params).mappings():
            column = "booking_patients" if row["kind"] == "booking" else "paying_accounts"
            frame.loc[row["period"], column] = float(row["accounts"])
        if live_today:
            for column, value in _day_figures(s, today).items():
                frame.loc["current", column] += value
    return frame
