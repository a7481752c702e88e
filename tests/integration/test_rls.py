"""Row-level security as the app role (SPEC §2): a patient never reads another patient's rows,
even through a raw query on the app's own connection."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import clock
from core.actor import ANONYMOUS, SYSTEM, Actor
from core.db import unit_of_work
from core.models import Appointment

PERSONAL_TABLES = [
    "users", "patients", "appointments", "appointment_changes", "payments", "subscriptions",
    "credit_entries", "ratings", "video_tests", "password_reset_tokens", "messages",
    "funnel_events", "outbox_messages", "audit_events", "stripe_events", "slots",
    "consultation_notes", "documents", "follow_ups", "receipts", "receipt_counters",  # SPEC §18
    "walkin_requests", "waitlist_entries", "waitlist_offers",  # SPEC §17
    "support_conversations", "support_messages", "support_health_bodies",  # issue 25
]


@pytest.fixture
def clinic(make_user):
    """Two doctors, two patients, one appointment each: A with doctor 1, B with doctor 2."""
    doc1, doc2 = make_user("doctor", full_name="Dr One"), make_user("doctor", full_name="Dr Two")
    pat_a, pat_b = make_user("patient", full_name="Alice"), make_user("patient", full_name="Bob")
    admin = make_user("admin")
    start = clock.now() + timedelta(days=2)
    with unit_of_work(SYSTEM) as uow:
        for doc, pat in ((doc1, pat_a), (doc2, pat_b)):
            uow.session.add(Appointment(doctor_id=doc.doctor.id, patient_id=pat.patient.id,
                                        start_at=start, end_at=start + timedelta(minutes=30)))
    return {"doc1": doc1, "doc2": doc2, "a": pat_a, "b": pat_b, "admin": admin}


def rows(actor: Actor, sql: str) -> list:
    with unit_of_work(actor) as uow:
        return uow.session.execute(text(sql)).all()


def test_app_runs_as_unprivileged_role_that_owns_nothing(db):
    (user, superuser, bypass), = rows(SYSTEM, """
        SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user""")
    assert (user, superuser, bypass) == ("doktu_app", False, False)
    owners = {owner for (owner,) in rows(SYSTEM, "SELECT tableowner FROM pg_tables WHERE schemaname='public'")}
    assert "doktu_app" not in owners


def test_rls_is_enabled_and_forced_on_every_personal_table(db):
    found = dict((name, (enabled, forced)) for name, enabled, forced in rows(SYSTEM, """
        SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
         WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"""))
    assert {t: found[t] for t in PERSONAL_TABLES} == {t: (True, True) for t in PERSONAL_TABLES}


def test_patient_sees_only_their_own_rows_even_with_raw_sql(clinic):
    a = clinic["a"]
    assert [r.patient_id for r in rows(a.actor, "SELECT patient_id FROM appointments")] == [a.patient.id]
    assert [r.id for r in rows(a.actor, "SELECT id FROM patients")] == [a.patient.id]
    assert [r.email for r in rows(a.actor, "SELECT email FROM users")] == [a.email]


def test_stranger_sees_no_personal_rows_but_the_public_directory(clinic):
    for table in ("appointments", "patients", "users", "payments", "audit_events"):
        assert rows(ANONYMOUS, f"SELECT 1 FROM {table}") == [], table
    names = {r.display_name for r in rows(ANONYMOUS, "SELECT display_name FROM doctors")}
    assert {"Dr One", "Dr Two"} <= names


def test_connection_without_any_context_sees_nothing(db):
    with db() as session:  # no unit_of_work: app.user_id and app.role are unset
        session.execute(text("SELECT set_config('app.role', '', true), set_config('app.user_id', '', true)"))
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_doctor_sees_their_own_appointments_and_those_patients_only(clinic):
    doc1, a, b = clinic["doc1"], clinic["a"], clinic["b"]
    assert [r.doctor_id for r in rows(doc1.actor, "SELECT doctor_id FROM appointments")] == [doc1.doctor.id]
    assert [r.id for r in rows(doc1.actor, "SELECT id FROM patients")] == [a.patient.id]
    emails = {r.email for r in rows(doc1.actor, "SELECT email FROM users")}
    assert a.email in emails and b.email not in emails


def test_admin_sees_everything(clinic):
    admin = clinic["admin"]
    assert len(rows(admin.actor, "SELECT 1 FROM appointments")) >= 2
    ids = {r.id for r in rows(admin.actor, "SELECT id FROM patients")}
    assert {clinic["a"].patient.id, clinic["b"].patient.id} <= ids


def test_patient_cannot_book_in_another_patients_name(clinic):
    a, b, doc2 = clinic["a"], clinic["b"], clinic["doc2"]
    start = clock.now() + timedelta(days=5)
    with pytest.raises(DBAPIError) as refused, unit_of_work(a.actor) as uow:
        uow.session.add(Appointment(doctor_id=doc2.doctor.id, patient_id=b.patient.id,
                                    start_at=start, end_at=start + timedelta(minutes=30)))
    assert refused.value.orig.sqlstate == "42501"  # new row violates row-level security policy


def test_patient_cannot_read_or_change_another_patients_appointment(clinic):
    a = clinic["a"]
    with unit_of_work(a.actor) as uow:
        changed = uow.session.execute(text(
            "UPDATE appointments SET status = 'cancelled', cancelled_at = now() WHERE patient_id <> :me"),
            {"me": a.patient.id}).rowcount
    assert changed == 0


def test_user_cannot_promote_themselves_to_admin(clinic):
    a = clinic["a"]
    with pytest.raises(DBAPIError) as refused, unit_of_work(a.actor) as uow:
        uow.session.execute(text("UPDATE users SET role = 'admin' WHERE id = :me"), {"me": a.user.id})
    assert refused.value.orig.sqlstate == "42501"


def test_audit_events_are_append_only_and_admin_readable(clinic):
    a, admin = clinic["a"], clinic["admin"]
    with unit_of_work(a.actor) as uow:
        uow.session.execute(text("""INSERT INTO audit_events (actor_id, actor_role, action, subject_type)
                                    VALUES (:me, 'patient', 'profile.viewed', 'patient')"""), {"me": a.user.id})
    assert rows(a.actor, "SELECT 1 FROM audit_events") == []
    assert len(rows(admin.actor, "SELECT 1 FROM audit_events WHERE action = 'profile.viewed'")) == 1
    with pytest.raises(DBAPIError), unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("DELETE FROM audit_events"))


def test_the_role_look_ups_answer_only_for_their_role(db, make_user):
    """`app_doctor_id()` / `app_patient_id()` (inlined since migration 0013b: the role is compared
    before the SECURITY DEFINER look-up): the acting user's doctor or patient id for that role
    only — NULL for every other role, for no user, and for a user of the other kind."""
    doctor, patient = make_user("doctor"), make_user("patient")
    cases = [(doctor.user.id, "doctor", doctor.doctor.id, None), (patient.user.id, "patient", None, patient.patient.id),
             (doctor.user.id, "patient", None, None), (patient.user.id, "doctor", None, None)]
    cases += [(who, role, None, None) for who in (doctor.user.id, patient.user.id, None)
              for role in ("admin", "system", "anonymous", "")]
    with unit_of_work(SYSTEM) as uow:
        for who, role, doctor_id, patient_id in cases:
            uow.session.execute(text("SELECT set_config('app.user_id', :u, true), set_config('app.role', :r, true)"),
                                {"u": str(who) if who else "", "r": role})
            got = uow.session.execute(text("SELECT app_doctor_id() AS d, app_patient_id() AS p")).one()
            assert (got.d, got.p) == (doctor_id, patient_id), (who, role)
