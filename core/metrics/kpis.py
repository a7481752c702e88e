"""KPIs of the admin console (SPEC §9, §12): aggregation in PostgreSQL, shaping in pandas.

Each figure a KPI needs is aggregated in SQL over the period and the previous period of the same
length in one pass (a `period` column says which), so a query reads at most two periods' rows and
returns at most two; pandas then shapes the figures into KPIs (`core.metrics.definitions`, where
each KPI's definition lives), daily series and CSV. Every query runs in the admin's unit of work:
row-level security lets staff read everything, and anyone else is refused before any query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from core.actor import Actor
from core.csv_export import frame_csv
from core.db import unit_of_work
from core.errors import Forbidden
from core.i18n import N_
from core.metrics.definitions import FIGURES, TEMPLATE_MINUTES_PER_DAY, shape_overview
from core.metrics.periods import Period, period_for
from core.metrics.snapshots import snapshot
from core.models.engagement import FUNNEL_STEPS

STAFF_ROLES = ("admin", "system")
# Appointments that took the doctor's time (for utilisation): paid for, whatever happened after.
BOOKED_STATUSES = ("paid", "confirmed", "completed", "no_show")
# Card payments that went through at some point (refunds are subtracted from them).
REVENUE_STATUSES = ("succeeded", "partially_refunded", "refunded")

_PERIOD = "CASE WHEN {col} >= :s THEN 'current' ELSE 'previous' END AS period"

# Booked and Appointments per patient: the `paid` events of the two periods.
PAID_FIGURES = text(f"""
SELECT {_PERIOD.format(col="occurred_at")},
       count(DISTINCT appointment_id) AS booked, count(DISTINCT user_id) AS booking_patients
  FROM funnel_events
 WHERE step = 'paid' AND occurred_at >= :ps AND occurred_at < :e AND appointment_id IS NOT NULL
 GROUP BY 1
""")

# Booking conversion, a cohort: the holds of each period (create-pending records `slot_held` once
# per appointment), and which of them got paid since — a hashed look-up in the payments' events,
# no join whose cost a stale row estimate could blow up.
HELD_FIGURES = text(f"""
SELECT {_PERIOD.format(col="occurred_at")}, count(*) AS held,
       count(*) FILTER (WHERE appointment_id IN (SELECT p.appointment_id FROM funnel_events p
                                                  WHERE p.step = 'paid' AND p.occurred_at >= :ps)) AS held_paid
  FROM funnel_events
 WHERE step = 'slot_held' AND occurred_at >= :ps AND occurred_at < :e AND appointment_id IS NOT NULL
 GROUP BY 1
""")

# The same figures for one past day, as the daily roll-ups compute them (core/metrics/rollups.py):
# whether a hold got paid is probed per hold through the appointment's events (its index) instead
# of hashing every `paid` event since the day, which for a day months back is most of the year's —
# the job's first run over a year of 1,000,000 appointments took ~7 s a day, ~45 minutes in all.
# Equal by construction (a test compares roll-ups with the live figures).
HELD_FIGURES_OF_A_DAY = text(f"""
SELECT {_PERIOD.format(col="occurred_at")}, count(*) AS held,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM funnel_events p
                                       WHERE p.appointment_id = h.appointment_id AND p.step = 'paid'
                                         AND p.occurred_at >= :ps)) AS held_paid
  FROM funnel_events h
 WHERE step = 'slot_held' AND occurred_at >= :ps AND occurred_at < :e AND appointment_id IS NOT NULL
 GROUP BY 1
""")

# Completed, No-show % and the booked minutes of Doctor utilisation, by start time.
APPOINTMENT_FIGURES = text(f"""
SELECT {_PERIOD.format(col="start_at")},
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'no_show') AS no_show,
       coalesce(sum(extract(epoch FROM end_at - start_at)) / 60, 0) AS booked_minutes
  FROM appointments
 WHERE start_at >= :ps AND start_at < :e AND status IN {BOOKED_STATUSES}
 GROUP BY 1
""")

# The offered minutes of Doctor utilisation: per doctor and Paris day, explicit available slots,
# else the doctor's weekly hours for that weekday (SPEC §19; NULL: the default 11 hours) less the
# slots turned off; from the day the doctor joined (a doctor waiting for review offers nothing, a
# suspended one nothing from the day of the suspension). Summed as "every doctor-day at the template"
# plus, on the days with slot rows, the difference they make — so no join between doctors, days
# and slots whose cost a stale estimate could blow up.
_TEMPLATE_MINUTES = (
    "(CASE WHEN {doc}.weekly_hours IS NULL THEN " + str(TEMPLATE_MINUTES_PER_DAY) + " ELSE "
    "(SELECT coalesce(sum(extract(epoch FROM (r->>1)::time - (r->>0)::time)), 0) / 60 "
    "FROM jsonb_array_elements(coalesce({doc}.weekly_hours -> to_char({day}, 'dy'), '[]'::jsonb)) r) END)")
OFFERED_FIGURES = text(f"""
WITH days AS (
  SELECT d::date AS day, ((d::date + 1)::timestamp AT TIME ZONE :tz) AS day_end
    FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') d
), template AS (
  SELECT CASE WHEN days.day >= CAST(:first_current AS date) THEN 'current' ELSE 'previous' END AS period,
         sum({_TEMPLATE_MINUTES.format(doc="doc", day="days.day")}) AS minutes
    FROM days CROSS JOIN doctors doc
   WHERE doc.created_at < days.day_end AND doc.status <> 'pending'
     AND (doc.status <> 'suspended' OR days.day_end <= doc.status_changed_at)
   GROUP BY 1
), slot_days AS (
  SELECT doctor_id, (start_at AT TIME ZONE :tz)::date AS day,
         coalesce(sum(extract(epoch FROM end_at - start_at)) FILTER (WHERE is_available), 0) / 60 AS available,
         count(*) FILTER (WHERE NOT is_available) AS off_slots
    FROM slots WHERE start_at >= :ps AND start_at < :e
   GROUP BY doctor_id, 2
), slot_templates AS (
  SELECT slot_days.*, {_TEMPLATE_MINUTES.format(doc="doc", day="slot_days.day")} AS usual
    FROM slot_days JOIN doctors doc ON doc.id = slot_days.doctor_id
), explicit AS (
  SELECT CASE WHEN day >= CAST(:first_current AS date) THEN 'current' ELSE 'previous' END AS period,
         sum(CASE WHEN available > 0 THEN available ELSE greatest(usual - 30 * off_slots, 0) END - usual)
           AS minutes
    FROM slot_templates GROUP BY 1
)
SELECT period, greatest(sum(minutes), 0) AS offered_minutes
  FROM (SELECT * FROM template UNION ALL SELECT * FROM explicit) x
 GROUP BY period
""")

# ARPA: net card revenue and the accounts paying it, by payment time.
REVENUE_FIGURES = text(f"""
SELECT {_PERIOD.format(col="created_at")},
       coalesce(sum(amount_cents - refunded_cents), 0) AS net_revenue_cents,
       count(DISTINCT user_id) AS paying_accounts
  FROM payments
 WHERE status IN {REVENUE_STATUSES} AND provider <> 'credit' AND created_at >= :ps AND created_at < :e
 GROUP BY 1
""")

NEW_PATIENT_FIGURES = text(f"""
SELECT {_PERIOD.format(col="created_at")}, count(*) AS new_patients
  FROM patients WHERE created_at >= :ps AND created_at < :e GROUP BY 1
""")

FIGURE_QUERIES = {"held": HELD_FIGURES, "paid": PAID_FIGURES, "appointments": APPOINTMENT_FIGURES,
                  "revenue": REVENUE_FIGURES, "new_patients": NEW_PATIENT_FIGURES, "offered": OFFERED_FIGURES}

DAILY = text("""
WITH days AS (SELECT d::date AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date),
                                                          interval '1 day') d),
booked AS (SELECT (occurred_at AT TIME ZONE :tz)::date AS day, count(DISTINCT appointment_id) AS booked
             FROM funnel_events WHERE step = 'paid' AND appointment_id IS NOT NULL
                                  AND occurred_at >= :s AND occurred_at < :e GROUP BY 1),
visits AS (SELECT (start_at AT TIME ZONE :tz)::date AS day,
                  count(*) FILTER (WHERE status = 'completed') AS completed,
                  count(*) FILTER (WHERE status = 'no_show') AS no_show
             FROM appointments WHERE start_at >= :s AND start_at < :e AND status IN ('completed', 'no_show')
            GROUP BY 1),
revenue AS (SELECT (created_at AT TIME ZONE :tz)::date AS day,
                   sum(amount_cents - refunded_cents) AS net_revenue_cents, count(DISTINCT user_id) AS paying_accounts
              FROM payments WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND provider <> 'credit'
                              AND created_at >= :s AND created_at < :e GROUP BY 1),
joined AS (SELECT (created_at AT TIME ZONE :tz)::date AS day, count(*) AS new_patients
             FROM patients WHERE created_at >= :s AND created_at < :e GROUP BY 1)
SELECT days.day, coalesce(booked, 0) AS booked, coalesce(completed, 0) AS completed,
       coalesce(no_show, 0) AS no_show, coalesce(net_revenue_cents, 0) AS net_revenue_cents,
       coalesce(paying_accounts, 0) AS paying_accounts, coalesce(new_patients, 0) AS new_patients
  FROM days LEFT JOIN booked USING (day) LEFT JOIN visits USING (day) LEFT JOIN revenue USING (day)
  LEFT JOIN joined USING (day)
 ORDER BY days.day
""")
DAILY_COLUMNS = ("booked", "completed", "no_show", "net_revenue_cents", "paying_accounts", "new_patients")

# People per step, monotone by construction: each person's furthest step in the period, then "people
# who got at least this far" (shape_funnel sums from the last step down). A person is an account; a
# visitor cookie id is the account it signed up or signed in with when an event of the period links
# the two (sign-up and profile views record both), else a person of its own; an event with neither
# is one person. So a patient who holds a time from the home page's pills, a search result or
# "see a doctor now" without a profile view is still counted as having viewed availability.
FUNNEL_COUNTS = text(f"""
WITH events AS MATERIALIZED (
  SELECT id, step, user_id, visitor_id FROM funnel_events WHERE occurred_at >= :s AND occurred_at < :e
), links AS (
  SELECT visitor_id, min(user_id::text) AS user_key FROM events
   WHERE user_id IS NOT NULL AND visitor_id IS NOT NULL GROUP BY visitor_id
), people AS (
  SELECT coalesce(e.user_id::text, l.user_key, 'visitor:' || e.visitor_id, 'event:' || e.id) AS person,
         max(array_position(ARRAY{list(FUNNEL_STEPS)!r}::text[], e.step)) AS furthest
    FROM events e LEFT JOIN links l ON l.visitor_id = e.visitor_id AND e.user_id IS NULL
   GROUP BY 1
)
SELECT (ARRAY{list(FUNNEL_STEPS)!r}::text[])[furthest] AS step, count(*) AS people
  FROM people GROUP BY furthest
""")
FUNNEL_LABELS = {
    "availability_viewed": "Availability viewed", "slot_held": "Slot held", "signed_up": "Signed up",
    "checkout_started": "Checkout started", "paid": "Paid", "device_test_passed": "Device test passed",
    "joined": "Joined",
}


def require_staff(actor: Actor) -> None:
    """Metrics are for the founders (admins) and the system only (SPEC §12: admin)."""
    if actor.role not in STAFF_ROLES:
        raise Forbidden(N_("The metrics are for admins only."))


def _params(period: Period) -> dict:
    previous = period.previous()
    return {"s": period.start, "e": period.end, "ps": previous.start, "tz": period.tz.key,
            "first": previous.first_day, "last": period.last_day, "first_current": period.first_day}


def tune_for_analytics(session: Session) -> None:
    """These queries aggregate a few hundred thousand rows: sort and hash in memory rather than on
    disk, and skip JIT compilation (it cost more than it saved here). Transaction-local."""
    session.execute(text("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)"))


def figures(actor: Actor, period: Period) -> pd.DataFrame:
    """The aggregated figures of `period` and the previous period: a frame indexed current/previous
    with one column per figure (0 where a period has no rows). One transaction, so one snapshot.
    (Running the queries on two connections at once was no faster on the 2-core machines, which
    other requests keep busy anyway.)"""
    params = _params(period)
    frame = pd.DataFrame(0.0, index=["current", "previous"], columns=list(FIGURES))
    with unit_of_work(actor) as uow:
        tune_for_analytics(uow.session)
        for query in FIGURE_QUERIES.values():
            for row in uow.session.execute(query, params).mappings().all():
                for column, value in row.items():
                    if column != "period" and value is not None:
                        frame.loc[row["period"], column] = float(value)
    return frame


def fresh_or_live(actor: Actor, period: Period, *, now: datetime | None = None) -> pd.DataFrame:
    """The figures from the daily roll-ups and today live (core.metrics.rollups), or, while a day of
    the two periods has no roll-up yet, computed live from the raw rows."""
    from core.metrics.rollups import fresh_figures  # rollups builds on this module's queries

    found = fresh_figures(actor, period, now=now)
    return figures(actor, period) if found is None else found


@dataclass(frozen=True)
class Overview:
    period: Period
    previous: Period
    kpis: pd.DataFrame  # one row per KPI: see definitions.shape_overview
    figures: pd.DataFrame
    generated_at: datetime

    def kpi(self, key: str) -> dict:
        return self.kpis.loc[key].to_dict()


def resolve(range_name: str, now: datetime | None = None) -> Period:
    return period_for(range_name, now or clock.now())


def overview(actor: Actor, range_name: str, *, now: datetime | None = None) -> Overview:
    """The eight KPIs of SPEC §9 for `range_name`, each with the previous period's value and the change.

    The figures are a snapshot at most a minute old (the runtime's cache), shared by all admins
    (`generated_at` says when); a test's own `now` never uses the cache."""
    require_staff(actor)
    period = resolve(range_name, now)
    found, generated_at = snapshot(
        f"figures:{period.name}:{period.first_day.isoformat()}",
        lambda: (fresh_or_live(actor, period, now=now), clock.now()),
        lambda v: {"figures": v[0].to_dict(orient="index"), "generatedAt": v[1].isoformat()},
        lambda d: (pd.DataFrame.from_dict(d["figures"], orient="index").reindex(columns=list(FIGURES)).fillna(0.0),
                   datetime.fromisoformat(d["generatedAt"])), cached=now is None)
    return Overview(period, period.previous(), shape_overview(found.loc["current"], found.loc["previous"]), found,
                    generated_at)


@dataclass(frozen=True)
class Funnel:
    period: Period
    steps: pd.DataFrame  # step, label, people, from_previous_step, from_first_step


def funnel(actor: Actor, range_name: str, *, now: datetime | None = None) -> Funnel:
    """People who reached each step of the booking funnel in the period: distinct accounts, or
    visitors (a random cookie id) before they sign up, counted at the furthest step their events
    of the period reached and at every step before it — from whatever page they started (a profile,
    the home page's times, search, "see a doctor now"). So each step is at most the one before it."""
    require_staff(actor)
    period = resolve(range_name, now)

    def compute() -> list[dict]:
        with unit_of_work(actor) as uow:
            tune_for_analytics(uow.session)
            return [dict(r) for r in uow.session.execute(FUNNEL_COUNTS, _params(period)).mappings().all()]

    rows = snapshot(f"funnel:{period.name}:{period.first_day.isoformat()}", compute, lambda v: v, lambda v: v,
                    cached=now is None)
    return Funnel(period, shape_funnel(rows))


def shape_funnel(rows) -> pd.DataFrame:
    """`rows`: people per furthest step. People at a step = those whose furthest step is it or later."""
    furthest = pd.DataFrame(rows, columns=["step", "people"]).groupby("step")["people"].sum()
    people = furthest.reindex(list(FUNNEL_STEPS), fill_value=0).astype(int)[::-1].cumsum()[::-1]
    steps = pd.DataFrame({"step": list(FUNNEL_STEPS), "label": [FUNNEL_LABELS[s] for s in FUNNEL_STEPS],
                          "people": people.to_numpy()})
    first = steps["people"].iloc[0]
    before = steps["people"].shift(1)
    steps["from_previous_step"] = [None if i == 0 or not b else p / b
                                   for i, (p, b) in enumerate(zip(steps["people"], before, strict=True))]
    steps["from_first_step"] = [p / first if first else None for p in steps["people"]]
    return steps.astype(object).where(steps.notna(), None)


def daily(actor: Actor, range_name: str, *, now: datetime | None = None) -> tuple[Period, pd.DataFrame]:
    """Per Paris day of the period: booked, completed, no-shows, net revenue, paying accounts, new
    patients (the same definitions as the KPIs; days without anything are 0)."""
    period = resolve(range_name, now)
    return period, daily_series(actor, period, cached=False)


def daily_series(actor: Actor, period: Period, *, cached: bool = True) -> pd.DataFrame:
    """The daily figures of any run of days (the bookings chart shows at least a week)."""
    require_staff(actor)

    def compute() -> list[dict]:
        with unit_of_work(actor) as uow:
            tune_for_analytics(uow.session)
            return [dict(r) for r in uow.session.execute(
                DAILY, {**_params(period), "first": period.first_day}).mappings().all()]

    rows = snapshot(f"daily:{period.first_day.isoformat()}:{period.days}", compute, lambda v: v,
                    lambda v: [{**r, "day": date.fromisoformat(r["day"])} for r in v], cached=cached)
    return shape_daily(rows, period)


def shape_daily(rows, period: Period) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["day", *DAILY_COLUMNS])
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame = frame.set_index("day").reindex(period.day_list(), fill_value=0)
    frame.index.name = "day"
    return frame.astype(int)


def overview_csv(result: Overview, *, language: str | None = None, headers: Mapping[str, str] | None = None) -> str:
    """The analysts' CSV of the overview: one row per KPI with both periods and the definition.
    Money in cents, ratios as fractions (0.125 = 12.5 %), empty where a value is undefined."""
    period, previous = result.period, result.previous
    frame = result.kpis[["key", "label", "unit", "value", "previous", "change", "definition"]].copy()
    frame.insert(0, "range", period.name)
    frame.insert(1, "from", period.start.isoformat())
    frame.insert(2, "to", period.end.isoformat())
    frame.insert(3, "previous_from", previous.start.isoformat())
    frame.insert(4, "previous_to", previous.end.isoformat())
    frame = frame.rename(columns={"key": "kpi"})
    for column in ("value", "previous", "change"):
        frame[column] = [_csv_number(v) for v in frame[column]]
    return frame_csv(frame.rename(columns=dict(headers or {})), language=language)


def daily_csv(period: Period, frame: pd.DataFrame, *, language: str | None = None,
              headers: Mapping[str, str] | None = None) -> str:
    out = frame.reset_index()
    out["day"] = [d.isoformat() for d in out["day"]]
    out.insert(0, "range", period.name)
    return frame_csv(out.rename(columns=dict(headers or {})), language=language)


def _csv_number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.6g}"
    return str(int(value))


def export_csv(actor: Actor, range_name: str, table: str = "kpis", *, now: datetime | None = None,
               language: str | None = None, headers: Mapping[str, str] | None = None) -> str:
    """`GET /api/metrics/export.csv`: the KPI summary (`kpis`) or the daily figures (`daily`), in
    the CSV style of the reader's language (see core.csv_export). `headers` renames columns (the
    console's download writes them in the admin's language; the API keeps the stable keys)."""
    if table == "daily":
        period, frame = daily(actor, range_name, now=now)
        return daily_csv(period, frame, language=language, headers=headers)
    return overview_csv(overview(actor, range_name, now=now), language=language, headers=headers)
