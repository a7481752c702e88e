"""Demo history for the admin console (issue 9): `doktu db seed --history 12` makes a realistic
year (or any number of months) of patients, bookings, payments, refunds, no-shows,
cancellations, abandoned holds, device tests and funnel events, so the KPIs, charts and alerts
have something to show. Not part of the default seed.

Built in PostgreSQL with generate_series and a seeded random() (a year for the 10 demo doctors is
~20,000 appointments in a few seconds; the KPI benchmark uses the same generator for 1,000,000).
Rows go through the same constraints, triggers and row-level security as the product's own, as the
system actor. The history is a picture for the console, not a ledger: plan members' visits are
marked paid with credit, but no credit entries are written.

Shape: the doctors already in the database (run the demo seed first) take consultations on a
45-minute grid 10:00–20:30 Paris time (so the ±45 min double-booking guard is never hit), busier on
weekdays and growing over the period; each past consultation is completed (≈ 87 %), a no-show
(≈ 5 %) or cancelled with a refund (≈ 8 %); one hold in five expires unpaid; the next 14 days are
booked (confirmed). History patients are `history-N@demo.doktu.eu`; they cannot sign in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from core import clock
from core.accounts.passwords import hash_password
from core.actor import SYSTEM
from core.db import unit_of_work
from core.metrics.periods import PARIS, local_midnight

HISTORY_EMAIL = "history-%@demo.doktu.eu"
FIRST_NAMES = ["Alice", "Bruno", "Chloé", "David", "Elena", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Karin",
               "Léo", "Marta", "Nils", "Olga", "Pablo", "Rosa", "Sami", "Tessa", "Umberto", "Vera", "Wim", "Yara",
               "Zoé"]
LAST_NAMES = ["Dubois", "Müller", "Rossi", "García", "Jansen", "Nowak", "Silva", "Novak", "Larsen", "Horvat", "Meyer",
              "Moreau", "Bianchi", "López", "Visser", "Kowalski", "Costa", "Berg", "Weber", "Laurent"]
GRID_STARTS = 15  # 10:00, 10:45, … 20:30 local


@dataclass(frozen=True)
class HistoryReport:
    months: int
    patients: int
    appointments: int
    payments: int
    funnel_events: int
    skipped: bool = False


def seed_history(months: int = 12, *, per_doctor_day: float = 6.0, patients_per_doctor: int | None = None,
                 now: datetime | None = None, seed: float = 0.42, bulk: Engine | None = None) -> HistoryReport:
    """Generate `months` of history up to `now` (and 14 days of bookings ahead) for every doctor.

    `per_doctor_day` is the average number of consultations a doctor gives per day; patients are
    about one per 6 consultations unless `patients_per_doctor` says otherwise. Running it again
    when history patients exist changes nothing.

    `bulk`: an engine connected as the database's owner (a superuser) for a large load (the KPI
    benchmark's million appointments): the same statements and the same rows, but with triggers
    and foreign-key checks off for the transaction (`session_replication_role = replica`) and the
    secondary indexes of the four filled tables dropped before the load and rebuilt after it.
    Per row, the double-booking guard (an advisory lock and an index probe), the calendar-change
    note, three foreign-key probes, the row-level security check and the upkeep of 4–5 indexes
    made 1,000,000 appointments and 7 M funnel events take over 30 minutes; the rows satisfy
    all of these by construction (a 45-minute grid, ids taken from the rows just written)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    if bulk is None:
        with unit_of_work(SYSTEM) as uow:
            return _generate(uow.session, months, per_doctor_day, patients_per_doctor, now, seed)
    # One transaction even on an autocommit engine: the temporary tables live until its commit.
    with bulk.connect().execution_options(isolation_level="READ COMMITTED") as conn, conn.begin():
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        rebuild = _drop_secondary_indexes(conn)
        report = _generate(conn, months, per_doctor_day, patients_per_doctor, now, seed)
        for definition in rebuild:
            conn.execute(text(definition))
    return report


BULK_TABLES = ("appointments", "payments", "funnel_events", "video_tests")


def _drop_secondary_indexes(conn) -> list[str]:
    """Drop the indexes of the tables the history fills that no constraint owns (primary keys and
    unique constraints stay: they are what the rows are checked against); return their
    definitions, as the migrations made them, to rebuild after the load (one sort each instead
    of millions of random inserts)."""
    found = conn.execute(text("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conindid = to_regclass(i.schemaname || '.' || i.indexname))
         ORDER BY i.tablename, i.indexname"""), {"tables": list(BULK_TABLES)}).all()
    for name, _definition in found:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _name, definition in found]


def _generate(s, months: int, per_doctor_day: float, patients_per_doctor: int | None, now: datetime | None,
              seed: float) -> HistoryReport:
    """The history's statements on `s` (a session or a connection, inside its transaction)."""
    now = now or clock.now()
    first_day = (now.astimezone(PARIS) - _months(months)).date()
    start = local_midnight(first_day)
    days = (now.astimezone(PARIS).date() - first_day).days
    if s.execute(text("SELECT 1 FROM users WHERE email LIKE :p LIMIT 1"), {"p": HISTORY_EMAIL}).first():
        return HistoryReport(months, 0, 0, 0, 0, skipped=True)
    doctors = s.execute(text("SELECT count(*) FROM doctors")).scalar_one()
    if not doctors:
        raise ValueError("no doctors: run `doktu db seed` first")
    s.execute(text("SELECT setseed(:seed)"), {"seed": seed})
    s.execute(text("UPDATE doctors SET created_at = :start WHERE created_at > :start"), {"start": start})
    patients = patients_per_doctor * doctors if patients_per_doctor else \
        max(50, round(doctors * per_doctor_day * days / 6))
    params = {"start": start, "now": now, "span": (now - start).total_seconds(), "n": patients,
              "first": first_day, "last": now.astimezone(PARIS).date() + timedelta(days=14),
              "p": min(0.95, per_doctor_day / GRID_STARTS / 0.8), "tz": PARIS.key,
              "hash": hash_password(secrets.token_urlsafe(24), cost=4)}
    for statement in _STATEMENTS:
        s.execute(text(statement), params)
    counts = s.execute(text("""
        SELECT (SELECT count(*) FROM hist_patients),
               (SELECT count(*) FROM appointments a JOIN hist_patients h ON h.patient_id = a.patient_id),
               (SELECT count(*) FROM payments p JOIN hist_patients h ON h.user_id = p.user_id),
               (SELECT count(*) FROM funnel_events f WHERE f.occurred_at >= :start - interval '1 day'
                   AND (f.user_id IN (SELECT user_id FROM hist_patients) OR f.visitor_id LIKE 'hist-%'))"""),
        {"start": start}).one()
    return HistoryReport(months, *counts)


def _months(months: int) -> timedelta:
    return timedelta(days=round(months * 365.25 / 12))


# Patients join over the period, more of them lately (created_at = start + span·√u): the share of
# patients who joined by a time t is ((t − start)/span)², which picks a patient existing at t below.
_STATEMENTS = [
    f"""
    INSERT INTO users (email, role, full_name, password_hash, created_at)
    SELECT 'history-' || g || '@demo.doktu.eu', 'patient',
           (ARRAY{FIRST_NAMES!r})[1 + (g * 7) % {len(FIRST_NAMES)}] || ' ' ||
           (ARRAY{LAST_NAMES!r})[1 + (g * 13) % {len(LAST_NAMES)}],
           :hash, :start + make_interval(secs => :span * sqrt(g::float / :n))
      FROM generate_series(1, :n) g
    """,
    """
    CREATE TEMP TABLE hist_patients ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY u.created_at, u.id) AS seq, u.id AS user_id,
           gen_random_uuid() AS patient_id, u.created_at, random() < 0.12 AS member
      FROM users u WHERE u.email LIKE 'history-%@demo.doktu.eu'
    """,
    "CREATE INDEX ON hist_patients (seq)",
    # Temporary tables have no statistics until analysed: without them the joins below were
    # planned as nested loops over the patients.
    "ANALYZE hist_patients",
    """
    INSERT INTO patients (id, user_id, created_at, onboarded_at, date_of_birth, gender)
    SELECT patient_id, user_id, created_at, created_at + interval '4 minutes',
           date '1950-01-01' + (random() * 18000)::int,
           (ARRAY['female', 'male', 'non_binary', 'undisclosed'])[1 + (seq % 4)::int]
      FROM hist_patients
    """,
    # Candidate consultations: every doctor, every local day, a start every 45 minutes; each taken
    # with a probability growing over the period and lower at weekends. Times within 45 minutes of
    # an active appointment already there are skipped, so the double-booking guard never fires.
    """
    CREATE TEMP TABLE hist_appointments ON COMMIT DROP AS
    WITH grid AS (
      SELECT d.id AS doctor_id, d.price_cents, day::date AS day,
             ((day::date + time '10:00' + k * interval '45 minutes') AT TIME ZONE :tz) AS start_at
        FROM doctors d
       CROSS JOIN generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') day
       CROSS JOIN generate_series(0, 14) k
    ), taken AS (
      SELECT g.*, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
             least(1.0, extract(epoch FROM g.start_at - :start) / :span) AS progress
        FROM grid g
       WHERE random() < :p * (CASE WHEN extract(isodow FROM g.day) >= 6 THEN 0.55 ELSE 1.08 END)
                          * (0.6 + 0.6 * least(1.0, extract(epoch FROM g.start_at - :start) / :span))
    )
    SELECT gen_random_uuid() AS id, t.doctor_id, t.price_cents, t.start_at, t.r1, t.r2, t.r3, t.r4,
           greatest(t.start_at - interval '1 hour' - t.r2 * interval '9 days', :start) AS booked_at
      FROM taken t
     WHERE t.start_at - interval '1 hour' - t.r2 * interval '9 days' < :now - interval '20 minutes'
       AND NOT EXISTS (SELECT 1 FROM appointments a
                        WHERE a.doctor_id = t.doctor_id AND a.status IN ('pending', 'paid', 'confirmed')
                          AND a.start_at > t.start_at - interval '45 minutes'
                          AND a.start_at < t.start_at + interval '45 minutes')
    """,
    "ANALYZE hist_appointments",
    """
    INSERT INTO appointments (id, doctor_id, patient_id, start_at, end_at, status, cancelled_by, cancel_reason,
                              cancelled_at, completed_at, price_cents, created_at, updated_at)
    SELECT h.id, h.doctor_id, p.patient_id, h.start_at, h.start_at + interval '30 minutes', x.status,
           CASE x.status WHEN 'cancelled' THEN
             CASE WHEN h.r1 < 0.20 THEN NULL WHEN h.r3 < 0.7 THEN 'patient' ELSE 'doctor' END END,
           CASE WHEN x.status = 'cancelled' THEN
             CASE WHEN h.r1 < 0.20 THEN 'Hold expired before payment' ELSE 'Demo history' END END,
           CASE WHEN x.status = 'cancelled' THEN
             CASE WHEN h.r1 < 0.20 THEN h.booked_at + interval '15 minutes'
                  ELSE least(h.booked_at + (h.start_at - h.booked_at) * h.r4 * 0.9, :now) END END,
           CASE WHEN x.status = 'completed' THEN h.start_at + interval '30 minutes' END,
           h.price_cents, h.booked_at, h.booked_at
      FROM hist_appointments h
     CROSS JOIN LATERAL (SELECT greatest(1, ceil((SELECT count(*) FROM hist_patients)
                                    * power(greatest(extract(epoch FROM h.booked_at - :start) / :span, 0.001), 2)
                                    * h.r3))::bigint AS seq) pick
      JOIN hist_patients p ON p.seq = pick.seq
     CROSS JOIN LATERAL (SELECT CASE
             WHEN h.r1 < 0.20 THEN 'cancelled'                      -- the hold expired unpaid
             WHEN h.r1 < 0.27 THEN 'cancelled'                      -- paid, then cancelled and refunded
             WHEN h.start_at >= :now THEN 'confirmed'
             WHEN h.r1 < 0.315 THEN 'no_show'
             ELSE 'completed' END AS status) x
    """,
    # Payments: members pay their visits with credit and a plan every month; others by card, one
    # card in 25 declined first. Cancelled paid visits are refunded in full.
    """
    INSERT INTO payments (user_id, appointment_id, kind, provider, provider_session_id, status, amount_cents,
                          refunded_cents, failure_code, created_at, updated_at)
    SELECT p.user_id, a.id, 'visit', CASE WHEN p.member THEN 'credit' ELSE 'local' END,
           CASE WHEN p.member THEN NULL ELSE 'hist_cs_' || a.id END,
           CASE WHEN a.status = 'cancelled' THEN 'refunded' ELSE 'succeeded' END, a.price_cents,
           CASE WHEN a.status = 'cancelled' THEN a.price_cents ELSE 0 END, NULL,
           a.created_at + interval '2 minutes', coalesce(a.cancelled_at, a.created_at + interval '3 minutes')
      FROM appointments a JOIN hist_patients p ON p.patient_id = a.patient_id
     WHERE a.cancel_reason IS DISTINCT FROM 'Hold expired before payment'
    """,
    """
    INSERT INTO payments (user_id, appointment_id, kind, provider, provider_session_id, status, amount_cents,
                          failure_code, created_at, updated_at)
    SELECT p.user_id, a.id, 'visit', 'local', 'hist_fail_' || a.id, 'failed', a.price_cents, 'card_declined',
           a.created_at + interval '1 minute', a.created_at + interval '1 minute'
      FROM appointments a JOIN hist_patients p ON p.patient_id = a.patient_id
      JOIN hist_appointments h ON h.id = a.id
     WHERE NOT p.member AND (h.r4 < 0.04 OR (a.cancel_reason = 'Hold expired before payment' AND h.r4 < 0.3))
    """,
    """
    INSERT INTO payments (user_id, kind, provider, provider_session_id, status, amount_cents, created_at, updated_at)
    SELECT p.user_id, 'subscription', 'local', 'hist_plan_' || p.user_id || '_' || m,
           'succeeded', CASE WHEN p.seq % 3 = 0 THEN 5900 ELSE 2900 END,
           p.created_at + m * interval '1 month', p.created_at + m * interval '1 month'
      FROM hist_patients p CROSS JOIN generate_series(0, 24) m
     WHERE p.member AND p.created_at + m * interval '1 month' < :now
    """,
    # The funnel the product records, step by step, for the same people.
    """
    INSERT INTO funnel_events (occurred_at, user_id, visitor_id, step)
    SELECT created_at - interval '2 minutes', user_id, 'hist-' || left(md5(user_id::text), 20), 'signed_up'
      FROM hist_patients
    """,
    """
    INSERT INTO funnel_events (occurred_at, user_id, visitor_id, step, doctor_id, appointment_id)
    SELECT e.at, CASE WHEN e.step = 'availability_viewed' THEN NULL ELSE p.user_id END,
           CASE WHEN e.step = 'availability_viewed' THEN 'hist-' || left(md5(a.id::text || e.n), 20) END,
           e.step, a.doctor_id, CASE WHEN e.step = 'availability_viewed' THEN NULL ELSE a.id END
      FROM appointments a JOIN hist_patients p ON p.patient_id = a.patient_id
      JOIN hist_appointments h ON h.id = a.id
     CROSS JOIN LATERAL (VALUES
        ('availability_viewed', a.created_at - interval '9 minutes', '1', true),
        ('availability_viewed', a.created_at - interval '6 minutes', '2', h.r2 < 0.8),
        ('availability_viewed', a.created_at - interval '4 minutes', '3', h.r2 < 0.5),
        ('availability_viewed', a.created_at - interval '3 minutes', '4', h.r4 < 0.6),
        ('slot_held', a.created_at, '', true),
        ('checkout_started', a.created_at + interval '1 minute', '',
         a.cancel_reason IS DISTINCT FROM 'Hold expired before payment' OR h.r4 < 0.5),
        ('paid', a.created_at + interval '3 minutes', '',
         a.cancel_reason IS DISTINCT FROM 'Hold expired before payment'),
        ('device_test_passed', a.start_at - interval '8 minutes', '',
         a.status = 'completed' AND h.r2 < 0.93 OR a.status = 'no_show' AND h.r2 < 0.3),
        ('joined', a.start_at + interval '1 minute', '', a.status = 'completed')) AS e(step, at, n, happened)
     WHERE e.happened AND e.at < :now
    """,
    """
    INSERT INTO video_tests (appointment_id, user_id, passed, outcome, details, created_at)
    SELECT a.id, p.user_id, t.passed, t.outcome, '{"source": "demo history"}', t.at
      FROM appointments a JOIN hist_patients p ON p.patient_id = a.patient_id
      JOIN hist_appointments h ON h.id = a.id
     CROSS JOIN LATERAL (VALUES
        (false, 'failed', a.start_at - interval '12 minutes', h.r4 < 0.07 AND a.status IN ('completed', 'no_show')),
        (true, CASE WHEN h.r3 < 0.05 THEN 'audio_only' ELSE 'passed' END, a.start_at - interval '8 minutes',
         a.status = 'completed' AND h.r2 < 0.93 OR a.status = 'no_show' AND h.r2 < 0.3))
        AS t(passed, outcome, at, happened)
     WHERE t.happened AND t.at < :now
    """,
]
