"""`POST /api/slots/hold` (SPEC §3): atomic, 15 minutes, mirrored in Redis, never two holders."""

import threading
import uuid
from datetime import timedelta
from itertools import pairwise

import pytest
import redis
from sqlalchemy import func, select, text

from core import clock, runtime
from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.errors import SlotConflict
from core.models import Doctor, Slot
from core.scheduling.holds import HoldMirror, hold_slot, unlock_stale_slots
from tests.integration.scheduling.conftest import paris

AVAILABILITY = "/api/doctors/{}/unified-availability"


def hold_as(client, login, csrf_header, email, **body):
    login(email)
    return client.post("/api/slots/hold", json=body, headers=csrf_header())


def test_a_patient_holds_a_template_start_for_15_minutes(client, doctor, make_user, login, csrf_header, app):
    patient = make_user("patient")
    response = hold_as(client, login, csrf_header, patient.email, doctorId=str(doctor.doctor.id),
                       start=paris(3, 14).isoformat())
    assert response.status_code == 201
    body = response.get_json()
    assert body["lockedUntil"].startswith((clock.now() + timedelta(minutes=15)).isoformat()[:16])
    with unit_of_work(SYSTEM) as uow:
        slot = uow.session.get(Slot, uuid.UUID(body["slotId"]))
        assert (slot.source, slot.locked_by, slot.end_at - slot.start_at) == (
            "template", patient.user.id, timedelta(minutes=30))
    redis_client = app.extensions["doktu"].redis
    assert redis_client.get(f"slot_holds:{body['slotId']}").decode() == str(patient.user.id)
    assert 890 <= redis_client.ttl(f"slot_holds:{body['slotId']}") <= 900


def test_a_second_patient_gets_409_and_the_holder_can_renew(doctor, make_user):
    first, second = make_user("patient"), make_user("patient")
    held = hold_slot(first.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    with pytest.raises(SlotConflict):
        hold_slot(second.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    with pytest.raises(SlotConflict):  # within 45 minutes of someone else's hold
        hold_slot(second.actor, doctor_id=doctor.doctor.id, start=paris(3, 14, 30))
    again = hold_slot(first.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    assert again.slot_id == held.slot_id


def test_one_hold_per_doctor_a_new_hold_releases_the_previous(doctor, make_user):
    patient, other = make_user("patient"), make_user("patient")
    hold_slot(patient.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    hold_slot(patient.actor, doctor_id=doctor.doctor.id, start=paris(3, 17))
    hold_slot(other.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))  # free again
    with unit_of_work(SYSTEM) as uow:
        holders = dict(uow.session.execute(
            select(Slot.start_at, Slot.locked_by).where(Slot.doctor_id == doctor.doctor.id,
                                                        Slot.locked_until > clock.now())).all())
    assert holders == {paris(3, 14): other.user.id, paris(3, 17): patient.user.id}


def test_others_do_not_see_a_held_start_but_the_holder_does(client, doctor, make_user):
    holder = make_user("patient")
    held = hold_slot(holder.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    query = {"from": paris(3, 13).isoformat(), "to": paris(3, 16).isoformat()}
    anonymous = client.get(AVAILABILITY.format(doctor.doctor.id), query_string=query).get_json()["slots"]
    assert paris(3, 14).isoformat() not in {s["start"] for s in anonymous}
    from core.scheduling.availability import doctor_availability

    mine = doctor_availability(holder.actor, doctor.doctor.id, paris(3, 13), paris(3, 16)).slots
    entry = next(a for a in mine if a.start == paris(3, 14))
    assert entry.held_by_viewer and entry.is_available and entry.slot_id == held.slot_id


def test_an_expired_hold_is_free_for_others_and_the_job_releases_it(doctor, make_user, app):
    first, second = make_user("patient"), make_user("patient")
    held = hold_slot(first.actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    assert app.extensions["doktu"].redis.get(f"slot_holds:{held.slot_id}") is not None
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE slots SET locked_until = :t WHERE id = :id"),
                            {"t": clock.now() - timedelta(seconds=1), "id": held.slot_id})
    assert unlock_stale_slots() == 1
    assert app.extensions["doktu"].redis.get(f"slot_holds:{held.slot_id}") is None
    assert hold_slot(second.actor, doctor_id=doctor.doctor.id, start=paris(3, 14)).slot_id == held.slot_id


def test_holds_keep_working_when_redis_is_down(doctor, make_user, monkeypatch):
    down = HoldMirror(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    monkeypatch.setattr(runtime.current(), "holds", down)
    held = hold_slot(make_user("patient").actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Slot, held.slot_id).locked_by is not None


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"start": "2026-03-03T14:00:00+01:00"}, 422, "ERR_VALIDATION"),
    ({"slotId": "00000000-0000-0000-0000-000000000000"}, 404, "ERR_NOT_FOUND"),
    ({"doctorId": "00000000-0000-0000-0000-000000000000", "start": "2026-03-03T14:00:00+01:00"}, 404, "ERR_NOT_FOUND"),
    ({"doctorId": "{doctor}", "start": "2026-03-02T08:30:00+01:00"}, 422, "ERR_TIME_WINDOW"),
    ({"doctorId": "{doctor}", "start": "2026-03-03T14:00:00"}, 422, "ERR_VALIDATION"),
    ({"doctorId": "{doctor}", "start": "2026-03-03T14:05:00+01:00"}, 409, "ERR_SLOT_CONFLICT"),
    ({"doctorId": "{doctor}", "start": "2026-03-03T06:00:00+01:00"}, 409, "ERR_SLOT_CONFLICT"),
])
def test_bad_holds_get_clear_errors(client, doctor, make_user, login, csrf_header, body, status, code):
    body = {k: v.replace("{doctor}", str(doctor.doctor.id)) for k, v in body.items()}
    response = hold_as(client, login, csrf_header, make_user("patient").email, **body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_only_signed_in_patients_hold(client, doctor, make_user, login, csrf_header):
    body = {"doctorId": str(doctor.doctor.id), "start": paris(3, 14).isoformat()}
    assert client.post("/api/slots/hold", json=body).status_code in (400, 401)
    assert hold_as(client, login, csrf_header, doctor.email, **body).status_code == 403


def test_twenty_concurrent_holders_of_one_slot_one_wins(committed_clinic, clock_at):
    """Real separate connections, committed: exactly one hold, every other caller a 409."""
    clinic = committed_clinic(20)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(clinic.patients))

    def attempt(user_id):
        barrier.wait()
        try:
            hold_slot(Actor(user_id, "patient"), doctor_id=clinic.doctor_id, start=paris(3, 14))
            outcomes.append("held")
        except SlotConflict:
            outcomes.append("conflict")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid, _ in clinic.patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict"] * 19 + ["held"]
    with unit_of_work(SYSTEM) as uow:
        held = uow.session.scalars(select(Slot).where(Slot.doctor_id == clinic.doctor_id)).all()
    assert len(held) == 1 and held[0].locked_by in {uid for uid, _ in clinic.patients}


def test_racers_for_neighbouring_starts_never_both_hold(committed_clinic, clock_at):
    """Twenty patients at once for twenty starts 15 minutes apart (different slot rows, so the
    upsert's conflict cannot decide): the calendar each hold checks is read after the doctor's
    lock is granted (one round trip with the lock, issue 21), so no two live holds end up within
    45 minutes of each other — a read taken before the lock would let neighbours through."""
    clinic = committed_clinic(20)
    starts = [paris(3, 14) + timedelta(minutes=15 * i) for i in range(len(clinic.patients))]
    barrier = threading.Barrier(len(clinic.patients))
    outcomes: list[str] = []

    def attempt(user_id, start):
        barrier.wait()
        try:
            hold_slot(Actor(user_id, "patient"), doctor_id=clinic.doctor_id, start=start)
            outcomes.append("held")
        except SlotConflict:
            outcomes.append("conflict")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt, args=(uid, start))
               for (uid, _), start in zip(clinic.patients, starts, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(outcomes) <= {"held", "conflict"} and len(outcomes) == 20, outcomes
    with unit_of_work(SYSTEM) as uow:
        held = sorted(uow.session.scalars(select(Slot.start_at).where(
            Slot.doctor_id == clinic.doctor_id, Slot.locked_by.is_not(None))).all())
    assert len(held) == outcomes.count("held") >= 1
    assert all(b - a >= timedelta(minutes=45) for a, b in pairwise(held)), held


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_an_unapproved_or_suspended_doctor_cannot_be_held_404_in_the_envelope(client, doctor, make_user, login,
                                                                              csrf_header, status):
    """SPEC §19: until approved (and once suspended) a doctor is not bookable: "no such doctor"."""
    with unit_of_work(SYSTEM) as uow:
        uow.session.get(Doctor, doctor.doctor.id).status = status
    patient = make_user("patient")
    response = hold_as(client, login, csrf_header, patient.email, doctorId=str(doctor.doctor.id),
                       start=paris(3, 14).isoformat())
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "ERR_NOT_FOUND"
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Slot).where(Slot.doctor_id == doctor.doctor.id)) == 0
    other = make_user("doctor")
    slots = client.get("/api/doctors/next-slots", query_string={"ids": f"{doctor.doctor.id},{other.doctor.id}"})
    assert slots.status_code == 200 and list(slots.get_json()["doctors"]) == [str(other.doctor.id)]
