"""The hold's own path (issue 21): two round trips on a pooled connection of its own, the release
of the previous hold only when the take succeeds, the pool left as found, and the bearer token's
check (claims verified once per token, the user read on every call)."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core import db as core_db
from core import runtime
from core.accounts import authentication
from core.accounts.authentication import issue_token, load_user, sign_out_everywhere
from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.errors import SlotConflict
from core.models import Slot
from core.scheduling.holds import HOLD_TTL, claim_slot, hold_slot
from tests.integration.scheduling.conftest import paris


def bearer(app, made, ttl_seconds: int = 900) -> dict:
    user = load_user(made.user.id, made.user.session_version)
    secret = app.extensions["doktu"].settings.secret_key
    return {"Authorization": f"Bearer {issue_token(user, secret=secret, ttl_seconds=ttl_seconds)}"}


def hold_body(doctor, day: int = 3, hour: int = 14) -> dict:
    return {"doctorId": str(doctor.doctor.id), "start": paris(day, hour).isoformat()}


def test_a_refused_take_keeps_the_patients_other_hold(db, doctor, make_user, clock_at):
    """The take and the release are one statement whose COMMIT rides with it: when the slot is
    someone else's, the patient's previous hold with the doctor stays theirs."""
    mine, theirs = make_user("patient"), make_user("patient")
    kept = hold_slot(mine.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    other = hold_slot(theirs.actor, doctor_id=doctor.doctor.id, start=paris(3, 17))
    now = clock_at()
    with unit_of_work(mine.actor) as uow:
        refused = claim_slot(uow.session, doctor.doctor.id, paris(3, 17), paris(3, 17) + timedelta(minutes=30),
                             mine.user.id, now + HOLD_TTL, now)
    assert refused is None
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Slot, kept.slot_id).locked_by == mine.user.id
        assert uow.session.get(Slot, other.slot_id).locked_by == theirs.user.id


def _pooled_connections_are_clean() -> None:
    pool = core_db.current().engine.pool
    records = list(pool._pool.queue)  # the idle connections, as the next checkout gets them
    assert records
    for record in records:
        raw = record.dbapi_connection
        assert raw.autocommit is False
        assert raw.info.transaction_status.name == "IDLE"


def test_on_its_own_connection_a_hold_commits_and_a_refusal_rolls_back(committed_clinic, clock_at):
    """Outside a test's transaction (as in production): the hold is committed for everyone, a
    second patient's refusal rolls its transaction back, a new hold moves the patient's hold, and
    every pooled connection goes back idle with autocommit off."""
    clinic = committed_clinic(2)
    (first, _), (second, _) = clinic.patients
    held = hold_slot(Actor(first, "patient"), doctor_id=clinic.doctor_id, start=paris(3, 14))
    with pytest.raises(SlotConflict):
        hold_slot(Actor(second, "patient"), doctor_id=clinic.doctor_id, start=paris(3, 14, 30))
    _pooled_connections_are_clean()
    moved = hold_slot(Actor(first, "patient"), doctor_id=clinic.doctor_id, start=paris(3, 16))
    _pooled_connections_are_clean()
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        rows = dict(conn.execute(select(Slot.id, Slot.locked_by).where(Slot.doctor_id == clinic.doctor_id)).all())
    assert rows == {held.slot_id: None, moved.slot_id: first}
    assert runtime.current().redis.get(f"slot_holds:{held.slot_id}") is None
    assert runtime.current().redis.get(f"slot_holds:{moved.slot_id}").decode() == str(first)


def test_a_hold_by_token_is_201_and_the_same_token_is_refused_once_revoked(app, client, doctor, make_user):
    patient = make_user("patient")
    headers = bearer(app, patient)
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=headers).status_code == 201
    sign_out_everywhere(patient.actor)  # the claims are verified (and remembered): the user is not
    refused = client.post("/api/slots/hold", json=hold_body(doctor, hour=16), headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "ERR_UNAUTHENTICATED"


def test_an_expired_or_tampered_token_is_401_even_once_verified(app, client, doctor, make_user, time_machine):
    patient = make_user("patient")
    headers = bearer(app, patient, ttl_seconds=120)
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=headers).status_code == 201
    time_machine.shift(timedelta(seconds=121))  # the remembered claims expire like the token
    late = client.post("/api/slots/hold", json=hold_body(doctor, hour=16), headers=headers)
    assert late.status_code == 401
    already = bearer(app, patient, ttl_seconds=-1)
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=already).status_code == 401
    fresh = bearer(app, patient)["Authorization"]
    tampered = {"Authorization": fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")}
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=tampered).status_code == 401


def test_a_doctors_token_is_403_and_a_deactivated_patients_401(app, client, doctor, make_user):
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=bearer(app, doctor)).status_code == 403
    patient = make_user("patient")
    headers = bearer(app, patient)
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE users SET is_active = false WHERE id = :u"), {"u": patient.user.id})
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=headers).status_code == 401


def test_claims_are_verified_once_per_token_and_secret(app, make_user, monkeypatch):
    patient = make_user("patient")
    token = bearer(app, patient)["Authorization"][7:]
    secret = app.extensions["doktu"].settings.secret_key
    monkeypatch.setattr(authentication, "_VERIFIED", {})
    decoded: list[str] = []
    real = authentication.jwt.decode
    monkeypatch.setattr(authentication.jwt, "decode", lambda *a, **k: decoded.append(a[0]) or real(*a, **k))
    for _ in range(3):
        assert authentication.user_from_token(token, secret=secret).id == patient.user.id
    assert decoded == [token]
    with pytest.raises(authentication.Unauthenticated):  # another secret is another verification
        authentication.user_from_token(token, secret="another-secret-that-is-long-enough-0123456789")
    assert len(decoded) == 2


def test_the_hold_answer_keeps_the_models_wire_shape(app, client, doctor, make_user):
    from portals.patient.api import HoldOut

    answer = client.post("/api/slots/hold", json=hold_body(doctor), headers=bearer(app, make_user("patient")))
    body = answer.get_json()
    assert answer.status_code == 201
    assert HoldOut.model_validate(body).model_dump(mode="json", by_alias=True) == body
    assert uuid.UUID(body["slotId"]) and body["lockedUntil"].endswith("Z")


# A hold by bearer token confirms the token's session in the hold's first round trip (issue 21):
# no read of the account before it, the same refusals as everywhere.

def test_a_hold_by_token_reads_no_account_and_another_route_still_does(app, client, doctor, make_user, monkeypatch):
    patient = make_user("patient")
    headers = bearer(app, patient)
    reads: list[uuid.UUID] = []
    real = authentication.load_user
    monkeypatch.setattr(authentication, "load_user", lambda *a: reads.append(a[0]) or real(*a))
    monkeypatch.setattr("portals.auth.load_user", authentication.load_user)
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=headers).status_code == 201
    assert reads == []
    assert client.get("/api/patient/profile", headers=headers).status_code == 200
    assert reads == [patient.user.id]


def test_a_signed_out_token_is_401_whatever_its_hold_would_have_met(app, client, db, doctor, make_user, clock_at):
    """Refused before its unit of work (a start too soon: 422, a slot id: its own unit, another
    patient's slot: 409), a token that is signed out still hears 401, and nothing is held."""
    patient, other = make_user("patient"), make_user("patient")
    headers = bearer(app, patient)
    theirs = hold_slot(other.actor, doctor_id=doctor.doctor.id, start=paris(3, 17))
    sign_out_everywhere(patient.actor)
    too_soon = {"doctorId": str(doctor.doctor.id), "start": (clock_at() + timedelta(minutes=30)).isoformat()}
    for body in (hold_body(doctor), too_soon, {"slotId": str(theirs.slot_id)}, hold_body(doctor, hour=17)):
        refused = client.post("/api/slots/hold", json=body, headers=headers)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (401, "ERR_UNAUTHENTICATED"), body
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalars(select(Slot).where(Slot.locked_by == patient.user.id)).all() == []


def test_a_token_whose_role_changed_or_a_signed_out_doctors_is_401(app, client, doctor, make_user):
    patient = make_user("patient")
    headers = bearer(app, patient)
    with unit_of_work(SYSTEM) as uow:  # the signed claims say patient; the account no longer does
        uow.session.execute(text("UPDATE users SET role = 'admin' WHERE id = :u"), {"u": patient.user.id})
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=headers).status_code == 401
    doctors = bearer(app, doctor)
    sign_out_everywhere(doctor.actor)
    assert client.post("/api/slots/hold", json=hold_body(doctor), headers=doctors).status_code == 401


def test_a_refusal_by_token_speaks_the_accounts_language(app, client, db, doctor, make_user):
    patient, other = make_user("patient"), make_user("patient")
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE users SET locale = 'fr' WHERE id = :u"), {"u": patient.user.id})
    hold_slot(other.actor, doctor_id=doctor.doctor.id, start=paris(3, 17))
    refused = client.post("/api/slots/hold", json=hold_body(doctor, hour=17), headers=bearer(app, patient))
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == "Ce créneau n'est plus disponible. Veuillez en choisir un autre."


def test_on_its_own_connection_an_unconfirmed_session_is_confirmed_or_refused(committed_clinic, clock_at):
    """On the real pool: the session is confirmed in the hold's first round trip; a session
    version that is over ends the unit with 401, holds nothing and leaves the pool clean."""
    clinic = committed_clinic(1)
    (patient, _), = clinic.patients
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        version = conn.execute(text("SELECT session_version FROM users WHERE id = :u"), {"u": patient}).scalar()
    held = hold_slot(Actor(patient, "patient", unconfirmed_session=version), doctor_id=clinic.doctor_id,
                     start=paris(3, 14))
    with pytest.raises(authentication.Unauthenticated):
        hold_slot(Actor(patient, "patient", unconfirmed_session=version + 1), doctor_id=clinic.doctor_id,
                  start=paris(3, 16))
    _pooled_connections_are_clean()
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        rows = dict(conn.execute(select(Slot.id, Slot.locked_by).where(Slot.doctor_id == clinic.doctor_id)).all())
    assert rows == {held.slot_id: patient}


def test_any_unit_of_work_confirms_an_unconfirmed_session(db, make_user):
    patient = make_user("patient")
    version = patient.user.session_version
    with unit_of_work(Actor(patient.user.id, "patient", unconfirmed_session=version)) as uow:
        assert uow.session.execute(text("SELECT current_setting('app.user_id')")).scalar() == str(patient.user.id)
    for refused in (Actor(patient.user.id, "patient", unconfirmed_session=version + 1),
                    Actor(patient.user.id, "doctor", unconfirmed_session=version)):
        with pytest.raises(authentication.Unauthenticated), unit_of_work(refused):
            pytest.fail("the unit acted for a session that is over")


def test_a_take_the_row_refuses_drops_no_cached_calendar(db, doctor, make_user, monkeypatch, clock_at):
    """The engine and the slot row disagree (cannot happen under the lock, forced here): 409, and
    the refused take, which wrote nothing, invalidates nothing."""
    from core.scheduling import holds

    mine, theirs = make_user("patient"), make_user("patient")
    hold_slot(theirs.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    seen: list[list[uuid.UUID]] = []
    monkeypatch.setattr(runtime.current(), "calendar_listeners", [seen.append])
    monkeypatch.setattr(holds, "_free_entry", lambda calendar, actor, start, now: type(
        "Entry", (), {"end": start + timedelta(minutes=30)})())
    with pytest.raises(SlotConflict):
        hold_slot(mine.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    assert seen == []
