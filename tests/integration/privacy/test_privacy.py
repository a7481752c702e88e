"""Privacy, self-service (SPEC §21): the export's contents, its link, the access log, consents,
email verification and retention — against the real PostgreSQL and Redis."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from core.actor import SYSTEM
from core.content import parse_front_matter
from core.db import unit_of_work
from core.doctors.patient_records import view_patient_record
from core.documents.issuing import issue_summary
from core.documents.receipts import issue_receipt
from core.errors import ExportInProgress, LinkExpired
from core.models import (
    Appointment,
    AppointmentChange,
    AuditEvent,
    Consent,
    CreditEntry,
    FunnelEvent,
    Message,
    OutboxMessage,
    Payment,
    Rating,
    Subscription,
    User,
    VideoTest,
)
from core.privacy import access_log, consents, export, retention, verification
from tests.conftest import TEST_PASSWORD

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def at(time_machine):
    def move(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment
    move(NOW)
    return move


def _outbox(to: str, pattern: str) -> list[str]:
    with unit_of_work(SYSTEM) as uow:
        bodies = uow.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.recipient == to)
                                     .order_by(OutboxMessage.created_at)).all()
    return [m.group(1) for body in bodies for m in [re.search(pattern, body)] if m]


def _new_link(to: str, pattern: str, known: set[str]) -> str:
    """The one link in `to`'s mail that is not in `known` (rows of one test transaction share a time)."""
    (link,) = set(_outbox(to, pattern)) - known
    known.add(link)
    return link


def _clinic(make_user, email_prefix: str, doctor):
    """A patient with every kind of data the schema holds, seen by `doctor`."""
    p = make_user("patient", email=f"{email_prefix}@tests.doktu.eu", full_name=f"{email_prefix.title()} Patient",
                  date_of_birth=date(1980, 1, 2), gender="female", primary_conditions=[f"{email_prefix}-asthma"],
                  allergies=[f"{email_prefix}-penicillin"], phone="+33612345678", onboarded_at=NOW)
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        a = Appointment(doctor_id=doctor.doctor.id, patient_id=p.patient.id, start_at=NOW - timedelta(days=2),
                        end_at=NOW - timedelta(days=2) + timedelta(minutes=30), status="completed",
                        completed_at=NOW - timedelta(days=2))
        s.add(a)
        s.flush()
        pay = Payment(user_id=p.user.id, appointment_id=a.id, provider="local", status="succeeded", amount_cents=3500)
        s.add(pay)
        s.flush()
        issue_receipt(uow, pay)
        s.add_all([
            CreditEntry(user_id=p.user.id, kind="grant", amount_cents=3500, note=f"{email_prefix}-credit"),
            Subscription(user_id=p.user.id, plan="basic", status="active", credits_per_period=1),
            Message(sender_id=p.user.id, recipient_id=doctor.user.id, appointment_id=a.id, body=f"{email_prefix}-hello"),
            VideoTest(user_id=p.user.id, appointment_id=a.id, passed=True, outcome="passed", details={"fps": 20}),
            Rating(appointment_id=a.id, patient_id=p.patient.id, doctor_id=doctor.doctor.id, stars=5,
                   comment=f"{email_prefix}-great"),
            AppointmentChange(appointment_id=a.id, action="reschedule", actor_role="patient", actor_id=p.user.id,
                              before={"start": "x"}, after={"start": "y"}),
            FunnelEvent(step="paid", user_id=p.user.id, appointment_id=a.id),
            Consent(user_id=p.user.id, kind="marketing", version="1", accepted_at=NOW),
            OutboxMessage(channel="email", recipient=p.email, subject=f"{email_prefix}-subject", body_text="hi",
                          status="sent"),
        ])
    view_patient_record(doctor.actor, p.patient.id)  # audited: the access log's entry
    issue_summary(doctor.actor, a.id, f"{email_prefix}-summary")
    return p, a


def _zip(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_export_holds_every_kind_of_the_patients_data_and_nothing_of_another(db, make_user, at, client, login):
    doctor = make_user("doctor", full_name="Dr Export")
    alice, alice_visit = _clinic(make_user, "alice", doctor)
    bob, bob_visit = _clinic(make_user, "bob", doctor)

    state = export.request_export(alice.actor)
    assert state.status == "queued"
    assert export.build_export(state.id) is True
    assert export.build_export(state.id) is False  # a second run of the job builds nothing
    token = _outbox(alice.email, r"/account/data/download/(\S+)")[-1]

    login(alice.email)
    response = client.get(f"/account/data/download/{token}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    files = _zip(response.data)

    expected = {"account", "consents", "messages", "video_tests", "notifications", "activity", "health_profile",
                "appointments", "appointment_changes", "payments", "subscriptions", "credit_entries", "ratings",
                "funnel_events"}
    assert {n.removesuffix(".json") for n in files if n.endswith(".json")} == expected
    data = {n.removesuffix(".json"): json.loads(files[n]) for n in files if n.endswith(".json")}
    for name in expected:  # one record at least of every kind
        assert data[name], f"{name}.json is empty"
    assert data["account"][0]["email"] == alice.email
    assert data["health_profile"][0]["primaryConditions"] == ["alice-asthma"]
    assert [a["id"] for a in data["appointments"]] == [str(alice_visit.id)]
    assert data["appointments"][0]["doctor"] == "Dr Export"
    assert data["messages"][0]["body"] == "alice-hello" and data["messages"][0]["with"] == "Dr Export"
    assert data["ratings"][0]["comment"] == "alice-great"
    assert data["credit_entries"][0]["note"] == "alice-credit"
    assert {c["kind"] for c in data["consents"]} == {"marketing"}
    assert any(e["action"] == "patient_record.viewed" and e["actorName"] == "Dr Export" for e in data["activity"])
    assert any(n["subject"] == "alice-subject" for n in data["notifications"])
    readme = files["README.md"].decode()
    for name in expected:  # every file and every field explained
        assert f"## {name}.json" in readme
        for field in data[name][0]:
            assert f"`{field}`" in readme, f"{name}.{field} is not described"

    pdfs = sorted(n for n in files if n.endswith(".pdf"))  # SPEC §21: plus documents and receipts
    assert [n.split("/")[0] for n in pdfs] == ["documents", "receipts"]
    assert all(files[n].startswith(b"%PDF") for n in pdfs)
    assert re.fullmatch(r"documents/\d{4}-\d\d-\d\d-summary-\w+\.pdf", pdfs[0]), pdfs[0]
    assert re.fullmatch(r"receipts/R-\d{4}-\d{6}\.pdf", pdfs[1]), pdfs[1]
    assert "## documents/" in readme and "## receipts/" in readme

    everything = b"".join(content for name, content in files.items() if not name.endswith(".pdf")).decode()
    for foreign in ("bob", str(bob.user.id), str(bob.patient.id), str(bob_visit.id)):
        assert foreign not in everything.lower(), f"another patient's {foreign!r} is in the export"


def test_the_link_works_once_within_24_hours_and_only_for_its_account(db, make_user, at, client, login):
    alice, other = make_user("patient"), make_user("patient")
    first = export.request_export(alice.actor)
    export.build_export(first.id)
    seen: set[str] = set()
    token = _new_link(alice.email, r"/account/data/download/(\S+)", seen)

    with pytest.raises(LinkExpired):
        export.download_export(other.actor, token)  # someone else's session
    name, archive = export.download_export(alice.actor, token)
    assert name.endswith(".zip") and zipfile.is_zipfile(io.BytesIO(archive))
    with pytest.raises(LinkExpired):
        export.download_export(alice.actor, token)  # used
    with unit_of_work(SYSTEM) as uow:
        stored = uow.session.execute(text("SELECT archive, status FROM data_exports WHERE id = :i"),
                                     {"i": first.id}).one()
    assert stored.archive is None and stored.status == "downloaded"  # nothing kept after the download

    second = export.request_export(alice.actor)
    export.build_export(second.id)
    token = _new_link(alice.email, r"/account/data/download/(\S+)", seen)
    at(NOW + timedelta(hours=24))  # exactly 24 hours: over
    with pytest.raises(LinkExpired):
        export.download_export(alice.actor, token)
    login(alice.email)
    assert client.get(f"/account/data/download/{token}").status_code == 410
    assert client.get("/account/data/download/not-a-token").status_code == 410


def test_only_one_export_is_in_progress_per_user_and_requests_are_audited(db, make_user, at, client, login):
    alice = make_user("patient")
    export.request_export(alice.actor)
    with pytest.raises(ExportInProgress):
        export.request_export(alice.actor)
    login(alice.email)
    page = client.get("/dashboard/settings").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/account/data/export", data={"csrf_token": token}, follow_redirects=True)
    assert "already being prepared" in response.get_data(as_text=True)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "data_export.requested", AuditEvent.subject_id == str(alice.user.id))) == 1


def test_doctors_export_their_profile_schedule_and_consultations_with_initials_only(db, make_user, at):
    doctor = make_user("doctor", full_name="Dr Own")
    _clinic(make_user, "carol", doctor)
    state = export.request_export(doctor.actor)
    export.build_export(state.id)
    with unit_of_work(SYSTEM) as uow:
        archive = uow.session.execute(text("SELECT archive FROM data_exports WHERE id = :i"), {"i": state.id}).scalar()
    files = _zip(archive)
    assert {"doctor_profile.json", "schedule.json", "consultations.json", "README.md"} <= set(files)
    consultations = json.loads(files["consultations.json"])
    assert consultations[0]["patientInitials"] == "C. P."
    assert not [n for n in files if n.startswith("documents/")]  # the patients' documents are theirs
    everything = b"".join(content for name, content in files.items() if not name.endswith(".pdf")).decode()
    assert "carol-asthma" not in everything and "carol-penicillin" not in everything  # no patient health data
    assert "health_profile.json" not in files


def test_the_patient_sees_who_looked_at_their_record_paged(db, make_user, at, client, login):
    doctor = make_user("doctor", full_name="Dr Looker")
    alice, _ = _clinic(make_user, "alice", doctor)
    bob, _ = _clinic(make_user, "bob", doctor)
    for _ in range(21):  # 22 views of Alice's record in all, and the summary the doctor issued her
        view_patient_record(doctor.actor, alice.patient.id)
    first = access_log.access_log(alice.actor, 1)
    assert (first.total, first.pages, len(first.entries)) == (23, 2, 20)
    assert first.entries[0].who == "Dr Looker" and first.entries[0].what == "Opened your health record"
    second = access_log.access_log(alice.actor, 2)
    assert len(second.entries) == 3 and not second.has_next
    assert [e.what for e in first.entries + second.entries].count("Issued you a document") == 1
    assert access_log.access_log(bob.actor).total == 2  # only Bob's own record

    login(alice.email)
    page = client.get("/dashboard/settings/access-log?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page and "Dr Looker" in page
    assert client.get("/dashboard/settings/access-log?page=abc").status_code == 200


def test_a_new_terms_version_is_asked_at_the_next_sign_in_and_keeps_next(db, make_user, client, login):
    alice = make_user("patient")
    with unit_of_work(SYSTEM) as uow:
        for kind in ("terms", "privacy"):
            uow.session.add(Consent(user_id=alice.user.id, kind=kind, version="2020-01-01"))
    page = client.get("/login?next=/dashboard/billing").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login?next=/dashboard/billing",
                           data={"email": alice.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    gate = client.get(response.headers["Location"])
    assert gate.status_code == 302 and gate.headers["Location"].startswith("/account/consents?next=/dashboard/billing")
    interstitial = client.get(gate.headers["Location"])
    body = interstitial.get_data(as_text=True)
    assert interstitial.status_code == 200 and 'type="checkbox"' in body and "checked" not in body
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
    refused = client.post("/account/consents?next=/dashboard/billing", data={"csrf_token": token})
    assert refused.status_code == 422
    assert client.get("/dashboard").status_code == 302  # still held at the gate
    done = client.post("/account/consents?next=/dashboard/billing", data={"csrf_token": token, "accept": "y"})
    assert done.status_code == 303 and done.headers["Location"] == "/dashboard/billing"
    assert client.get("/dashboard").status_code == 200
    assert consents.consent_state(alice.actor).outdated == ()


def test_sign_up_records_consents_and_marketing_stays_off(db, client):
    missing = client.post("/api/auth/signup", json={"email": "new@tests.doktu.eu", "password": "Zebra-Quartz-91!x"})
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "ERR_VALIDATION"
    assert "acceptTerms" in str(missing.get_json()["error"]["details"])
    created = client.post("/api/auth/signup", json={"email": "new@tests.doktu.eu", "password": "Zebra-Quartz-91!x",
                                                   "acceptTerms": True})
    assert created.status_code == 201
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.execute(select(Consent.kind, Consent.version, Consent.accepted_at).join(
            User, User.id == Consent.user_id).where(User.email == "new@tests.doktu.eu")).all()
    assert {(k, v) for k, v, _ in rows} == {("terms", consents.TERMS_VERSION), ("privacy", consents.PRIVACY_VERSION)}
    assert all(at is not None for *_, at in rows)
    assert "acceptTerms" in client.get("/api/openapi.json").get_data(as_text=True)


def test_marketing_consent_is_off_by_default_and_withdrawal_is_kept(db, make_user):
    alice = make_user("patient")
    assert consents.consent_state(alice.actor).marketing is False
    consents.set_marketing(alice.actor, True)
    consents.set_marketing(alice.actor, True)  # twice: one consent
    assert consents.consent_state(alice.actor).marketing is True
    consents.set_marketing(alice.actor, False)
    assert consents.consent_state(alice.actor).marketing is False
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.execute(select(Consent.kind, Consent.withdrawn_at).where(
            Consent.user_id == alice.user.id)).all()
    assert len(rows) == 1 and rows[0].kind == "marketing" and rows[0].withdrawn_at is not None


def test_email_verification_link_resend_expiry_and_email_change(db, client, at, login, make_user):
    from core.accounts.settings import change_name_and_email
    from core.accounts.signup import sign_up

    user = sign_up("verify.me@tests.doktu.eu", "Zebra-Quartz-91!x", "Vera Fy", accept_terms=True)
    assert not verification.is_verified(user.actor)
    seen: set[str] = set()
    first = _new_link(user.email, r"/verify-email/(\S+)", seen)
    assert verification.resend_link(user.actor) is False  # one a minute
    at(NOW + timedelta(minutes=2))
    assert verification.resend_link(user.actor) is True
    second = _new_link(user.email, r"/verify-email/(\S+)", seen)

    at(NOW + timedelta(hours=49))  # the first link is 49 hours old: expired
    assert client.get(f"/verify-email/{first}").status_code == 410
    at(NOW + timedelta(hours=3))
    page = client.get(f"/verify-email/{second}")
    assert page.status_code == 200 and verification.is_verified(user.actor)
    assert client.get(f"/verify-email/{second}").status_code == 410  # single use

    change_name_and_email(user.actor, full_name="Vera Fy", email="vera.new@tests.doktu.eu",
                          current_password="Zebra-Quartz-91!x")
    assert not verification.is_verified(user.actor)  # a new address verifies again
    assert _outbox("vera.new@tests.doktu.eu", r"/verify-email/(\S+)")


def test_the_dashboard_says_the_email_is_unverified_and_a_patient_cannot_verify_themselves(db, make_user, client, login):
    alice = make_user("patient", verified=False)
    login(alice.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="verify-banner"' in page and "Send the link again" in page
    with pytest.raises(Exception, match="only the system"), unit_of_work(alice.actor) as uow:
        uow.session.execute(update(User).where(User.id == alice.user.id).values(email_verified_at=NOW))
    verified = make_user("patient")
    with client.session_transaction() as session:
        session.clear()
    login(verified.email)
    assert 'id="verify-banner"' not in client.get("/dashboard").get_data(as_text=True)


def test_reminders_skip_an_unverified_address():
    from zoneinfo import ZoneInfo

    from core.notify.appointments import Facts, Party
    from core.notify.reminders import channels

    def facts(verified: bool) -> Facts:
        party = Party(None, "a@b.eu", "A", "en", ZoneInfo("UTC"), True, True, True, "+33612345678", verified)
        return Facts(None, "paid", NOW, NOW, 0, None, "EUR", "Dr", party, party)

    assert channels(facts(True)) == ["email", "sms"]
    assert channels(facts(False)) == ["sms"]


def _age(user_id, created_at):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == user_id).values(created_at=created_at))


def test_retention_deletes_device_tests_at_90_days(db, make_user, at):
    alice = make_user("patient")
    with unit_of_work(SYSTEM) as uow:
        for age in (timedelta(days=90), timedelta(days=90) - timedelta(seconds=1)):
            uow.session.add(VideoTest(user_id=alice.user.id, passed=True, outcome="passed", created_at=NOW - age))
    assert retention.delete_old_video_tests(NOW) == 1
    assert retention.delete_old_video_tests(NOW) == 0  # idempotent
    with unit_of_work(SYSTEM) as uow:
        left = uow.session.scalars(select(VideoTest.created_at).where(VideoTest.user_id == alice.user.id)).all()
    assert left == [NOW - timedelta(days=90) + timedelta(seconds=1)]


def test_retention_warns_unverified_accounts_at_23_days_once_and_deletes_them_at_30(db, make_user, at):
    warn, young, old, almost, booked = (make_user("patient", verified=False) for _ in range(5))
    verified = make_user("patient")
    _age(warn.user.id, NOW - timedelta(days=23))
    _age(young.user.id, NOW - timedelta(days=23) + timedelta(seconds=1))
    _age(old.user.id, NOW - timedelta(days=30))
    _age(almost.user.id, NOW - timedelta(days=30) + timedelta(seconds=1))
    _age(booked.user.id, NOW - timedelta(days=40))
    _age(verified.user.id, NOW - timedelta(days=40))
    doctor = make_user("doctor")
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(Appointment(doctor_id=doctor.doctor.id, patient_id=booked.patient.id, start_at=NOW,
                                    end_at=NOW + timedelta(minutes=30), status="cancelled", cancelled_at=NOW))

    first = retention.run_retention(NOW)
    second = retention.run_retention(NOW)
    assert first["unverifiedDeleted"] == 1 and second["unverifiedDeleted"] == 0
    assert first["unverifiedWarned"] == 2 and second["unverifiedWarned"] == 0  # 23 days and 29 days+: once
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        warned = set(s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.dedupe_key.like("retention-warning:%"))))
        remaining = set(s.scalars(select(User.id)))
    assert warned == {warn.email, almost.email}
    assert old.user.id not in remaining
    assert {warn.user.id, young.user.id, almost.user.id, booked.user.id, verified.user.id} <= remaining


def test_the_consent_versions_are_the_dates_of_the_legal_texts():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "content" / "legal"
    for kind, version in consents.REQUIRED.items():
        fields, _ = parse_front_matter((root / f"{kind}.md").read_text(), kind)
        assert fields["date"] == version, f"{kind}.md is dated {fields['date']}, consents ask for {version}"


def test_row_level_security_keeps_exports_and_consents_to_their_owner(db, make_user, at):
    alice, bob, admin = make_user("patient"), make_user("patient"), make_user("admin")
    export.request_export(alice.actor)
    consents.set_marketing(alice.actor, True)
    for reader in (bob, admin):  # the archive is the owner's alone: not even an admin reads it
        with unit_of_work(reader.actor) as uow:
            assert uow.session.execute(text("SELECT count(*) FROM data_exports")).scalar() == 0
    with unit_of_work(bob.actor) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM consents")).scalar() == 0
        assert uow.session.execute(text("SELECT count(*) FROM email_verification_tokens")).scalar() == 0
    with unit_of_work(alice.actor) as uow:  # only the system moves an export on
        assert uow.session.execute(text("UPDATE data_exports SET status = 'ready'")).rowcount == 0
    with pytest.raises(Exception, match="row-level security"), unit_of_work(alice.actor) as uow:
        uow.session.execute(text("INSERT INTO data_exports (user_id, status) VALUES (:u, 'ready')"),
                            {"u": alice.user.id})


def test_a_failed_build_frees_the_slot_and_the_sweep_builds_lost_and_stale_exports(db, make_user, at, monkeypatch):
    from core.privacy import sections

    alice, bob = make_user("patient"), make_user("patient")
    broken = sections.Section("broken", "Broken", "", {}, ("patient",), lambda s, who: 1 / 0)
    monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS, broken])
    failed = export.request_export(alice.actor)
    assert export.build_export(failed.id) is False
    assert export.latest_export(alice.actor).status == "failed"
    monkeypatch.setattr(sections, "SECTIONS", [s for s in sections.SECTIONS if s.name != "broken"])

    later = at(NOW + timedelta(minutes=1))
    lost = export.request_export(alice.actor)  # its job never ran
    stale = export.request_export(bob.actor)
    with unit_of_work(SYSTEM) as uow:  # a worker died 31 minutes into this build
        uow.session.execute(text("UPDATE data_exports SET status = 'building', ready_at = :t WHERE id = :i"),
                            {"t": later - timedelta(minutes=31), "i": stale.id})
    assert export.build_queued_exports(later) == 2
    assert export.latest_export(alice.actor).id == lost.id and export.latest_export(alice.actor).status == "ready"
    assert export.latest_export(bob.actor).status == "ready"
    assert export.build_queued_exports(later) == 0


def test_erasing_the_account_deletes_its_exports_and_links(db, make_user, at):
    from core.accounts.erasure import erase_account

    alice = make_user("patient", verified=False)
    with unit_of_work(SYSTEM) as uow:
        verification.queue_link(uow, alice.user.id, alice.email)
    export.build_export(export.request_export(alice.actor).id)
    erase_account(alice.actor, password=TEST_PASSWORD, confirmation="DELETE")
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        assert s.execute(text("SELECT count(*) FROM data_exports WHERE user_id = :u"), {"u": alice.user.id}).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM email_verification_tokens WHERE user_id = :u"),
                         {"u": alice.user.id}).scalar() == 0


def test_three_exports_a_day(db, make_user, at):
    from core.errors import RateLimited

    alice = make_user("patient")
    for hour in range(3):
        at(NOW + timedelta(hours=hour))
        export.build_export(export.request_export(alice.actor).id)
    with pytest.raises(RateLimited) as refused:
        export.request_export(alice.actor)
    assert refused.value.retry_after == 22 * 3600 + 1  # the first request leaves the window then
    at(NOW + timedelta(hours=24))
    assert export.request_export(alice.actor).status == "queued"
