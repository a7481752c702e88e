"""The doctor's availability API (SPEC §3, §4): on/off, batch, conflicts, Online/Offline."""

from datetime import datetime

import pytest
from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Slot
from core.scheduling.holds import hold_slot
from tests.integration.scheduling.conftest import PARIS, paris, starts

AVAILABILITY = "/api/doctors/{}/unified-availability"


@pytest.fixture
def as_doctor(client, doctor, login, csrf_header):
    login(doctor.email)
    headers = csrf_header()

    def call(method: str, url: str, **kwargs):
        return client.open(url, method=method, headers=headers, **kwargs)

    return call


def offered(client, doctor, day: int) -> list[datetime]:
    query = {"from": paris(day, 0).isoformat(), "to": paris(day, 23, 59).isoformat()}
    return starts(client.get(AVAILABILITY.format(doctor.doctor.id), query_string=query).get_json())


def test_turning_a_slot_on_makes_it_bookable(client, doctor, as_doctor):
    response = as_doctor("POST", "/api/doctor/time-slots", json={"start": paris(3, 8).isoformat()})
    assert response.status_code == 201
    body = response.get_json()
    assert body["isAvailable"] and datetime.fromisoformat(body["end"]) == paris(3, 8, 30)
    assert paris(3, 8) in offered(client, doctor, 3)


def test_editing_a_template_day_keeps_its_other_hours(client, doctor, as_doctor):
    assert as_doctor("POST", "/api/doctor/time-slots", json={"start": paris(3, 8).isoformat()}).status_code == 201
    got = offered(client, doctor, 3)
    assert paris(3, 8) in got and paris(3, 10) in got and paris(3, 20, 30) in got


def test_a_turned_off_slot_stays_off(client, doctor, as_doctor):
    created = as_doctor("POST", "/api/doctor/time-slots", json={"start": paris(3, 14).isoformat()}).get_json()
    off = as_doctor("DELETE", f"/api/doctor/time-slots/{created['id']}")
    assert off.status_code == 200 and off.get_json()["isAvailable"] is False
    got = offered(client, doctor, 3)
    assert paris(3, 14) not in got and paris(3, 13, 45) not in got  # 13:45–14:15 would overlap it
    assert paris(3, 13) in got and paris(3, 14, 30) in got
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.scalar(select(Slot).where(Slot.id == created["id"]))
        assert row.is_available is False  # the row is kept, so the template never re-fills it


def test_turning_off_on_an_explicit_day(client, doctor, as_doctor, add_slots):
    add_slots(doctor.doctor.id, [paris(4, 8), paris(4, 8, 30)])
    assert as_doctor("POST", "/api/doctor/time-slots",
                     json={"start": paris(4, 8).isoformat(), "isAvailable": False}).status_code == 201
    assert offered(client, doctor, 4) == [paris(4, 8, 30)]


def test_overlapping_slots_are_refused_with_409(doctor, as_doctor, add_slots):
    add_slots(doctor.doctor.id, [paris(4, 8)])
    response = as_doctor("POST", "/api/doctor/time-slots",
                         json={"start": paris(4, 8, 15).isoformat(), "end": paris(4, 8, 45).isoformat()})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "ERR_SLOT_CONFLICT"


def test_check_conflicts_lists_slots_and_appointments(doctor, as_doctor, add_slots, book):
    add_slots(doctor.doctor.id, [paris(4, 8)])
    book(doctor.doctor.id, paris(4, 9))
    clash = as_doctor("POST", "/api/doctor/time-slots/check-conflicts",
                      json={"start": paris(4, 8).isoformat(), "end": paris(4, 9, 30).isoformat()})
    assert clash.status_code == 409
    kinds = [c["kind"] for c in clash.get_json()["error"]["details"]["conflicts"]]
    assert kinds == ["slot", "appointment"]
    free = as_doctor("POST", "/api/doctor/time-slots/check-conflicts", json={"start": paris(4, 12).isoformat()})
    assert free.status_code == 200 and free.get_json() == {"conflicts": []}


def test_a_booked_slot_cannot_be_turned_off(doctor, as_doctor, add_slots, book):
    add_slots(doctor.doctor.id, [paris(4, 9)])
    book(doctor.doctor.id, paris(4, 9))
    response = as_doctor("POST", "/api/doctor/time-slots",
                         json={"start": paris(4, 9).isoformat(), "isAvailable": False})
    assert response.status_code == 409


def test_a_held_slot_cannot_be_turned_off(doctor, as_doctor, make_user):
    hold_slot(make_user("patient").actor, doctor_id=doctor.doctor.id, start=paris(3, 14))
    response = as_doctor("POST", "/api/doctor/time-slots",
                         json={"start": paris(3, 14).isoformat(), "isAvailable": False})
    assert response.status_code == 409


def test_batch_weekdays_8_to_12_for_4_weeks(client, doctor, as_doctor):
    body = {"firstDay": "2026-03-09", "lastDay": "2026-04-05", "weekdays": [0, 1, 2, 3, 4],
            "startTime": "08:00", "endTime": "12:00"}
    first = as_doctor("POST", "/api/doctor/time-slots/batch", json=body).get_json()
    assert (first["created"], first["updated"], first["skipped"]) == (4 * 5 * 8, 0, [])
    again = as_doctor("POST", "/api/doctor/time-slots/batch", json=body).get_json()
    assert (again["created"], again["updated"]) == (0, 160)
    got = offered(client, doctor, 9)
    assert got == [paris(9, 8), paris(9, 8, 45), paris(9, 9, 30), paris(9, 10, 15), paris(9, 11)]  # every 45 min
    # The 29 March clock change: slots stay at 08:00 Paris time, 30 real minutes each.
    after_dst = offered(client, doctor, 30)
    assert after_dst[0] == paris(30, 8) and after_dst[0].utcoffset().total_seconds() == 7200


def test_batch_skips_starts_next_to_an_appointment(doctor, as_doctor, book):
    book(doctor.doctor.id, paris(9, 9))
    body = {"firstDay": "2026-03-09", "lastDay": "2026-03-09", "weekdays": [0],
            "startTime": "08:00", "endTime": "10:00"}
    result = as_doctor("POST", "/api/doctor/time-slots/batch", json=body).get_json()
    assert [datetime.fromisoformat(s).astimezone(PARIS) for s in result["skipped"]] == [paris(9, 9)]
    assert result["created"] == 3


@pytest.mark.parametrize(("body", "status"), [
    ({"firstDay": "2026-03-09", "lastDay": "2026-03-01", "startTime": "08:00", "endTime": "12:00"}, 422),
    ({"firstDay": "2026-03-09", "lastDay": "2026-06-01", "startTime": "08:00", "endTime": "12:00"}, 422),
    ({"firstDay": "2026-03-09", "lastDay": "2026-03-10", "startTime": "12:00", "endTime": "08:00"}, 422),
    ({"firstDay": "2026-03-09", "lastDay": "2026-03-10", "weekdays": [7], "startTime": "08:00",
      "endTime": "12:00"}, 422),
    ({"firstDay": "next monday", "lastDay": "2026-03-10", "startTime": "08:00", "endTime": "12:00"}, 422),
])
def test_bad_batches_get_422(as_doctor, body, status):
    response = as_doctor("POST", "/api/doctor/time-slots/batch", json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == "ERR_VALIDATION"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"start": "2026-03-03T08:10:00+01:00"}, 422, "ERR_VALIDATION"),
    ({"start": "2026-03-03T08:00:00"}, 422, "ERR_VALIDATION"),
    ({"start": "2026-03-03T08:00:00+01:00", "end": "2026-03-03T07:00:00+01:00"}, 422, "ERR_VALIDATION"),
    ({"start": "2026-03-01T08:00:00+01:00"}, 422, "ERR_TIME_WINDOW"),
    ({"start": "tomorrow"}, 422, "ERR_VALIDATION"),
])
def test_bad_slots_get_clear_errors(as_doctor, body, status, code):
    response = as_doctor("POST", "/api/doctor/time-slots", json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_another_doctors_slot_is_not_found(as_doctor, make_user, add_slots):
    other = make_user("doctor")
    add_slots(other.doctor.id, [paris(4, 8)])
    with unit_of_work(SYSTEM) as uow:
        slot_id = uow.session.scalar(select(Slot.id).where(Slot.doctor_id == other.doctor.id))
    assert as_doctor("DELETE", f"/api/doctor/time-slots/{slot_id}").status_code == 404


def test_only_doctors_manage_slots(client, make_user, login, csrf_header, clock_at):
    assert client.get("/api/doctor/me").status_code == 401
    login(make_user("patient").email)
    assert client.get("/api/doctor/me").status_code == 403
    assert client.post("/api/doctor/time-slots", json={"start": paris(3, 8).isoformat()},
                       headers=csrf_header()).status_code == 403


def test_me_and_online_status(client, doctor, as_doctor):
    me = as_doctor("GET", "/api/doctor/me").get_json()
    assert me["name"] == "Dr Paris" and me["online"] is True and me["rpps"].startswith("10003")
    assert as_doctor("PATCH", "/api/doctor/status", json={"online": False}).get_json()["online"] is False
    assert offered(client, doctor, 3) == []
    assert as_doctor("PATCH", "/api/doctor/status", json={"online": True}).get_json()["online"] is True
    assert len(offered(client, doctor, 3)) == 15
    assert as_doctor("PATCH", "/api/doctor/status", json={"online": "maybe"}).status_code == 422


def test_list_shows_held_and_booked_slots(doctor, as_doctor, add_slots, book, make_user):
    add_slots(doctor.doctor.id, [paris(4, 8), paris(4, 9), paris(4, 11)])
    book(doctor.doctor.id, paris(4, 9))
    hold_slot(make_user("patient").actor, slot_id=_slot_at(doctor, paris(4, 11)))
    slots = as_doctor("GET", "/api/doctor/time-slots", query_string={
        "from": paris(4, 0).isoformat(), "to": paris(5, 0).isoformat()}).get_json()["slots"]
    flags = [(s["isBooked"], s["isHeld"]) for s in slots]
    assert flags == [(False, False), (True, False), (False, True)]


def _slot_at(doctor, start):
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(Slot.id).where(Slot.doctor_id == doctor.doctor.id, Slot.start_at == start))
