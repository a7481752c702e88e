"""`GET /api/doctors/<id>/unified-availability` and the batch form, with SPEC §3's numbers.

The list is what patients are offered: the free starts that can all be booked together, one every
45 minutes (issue 24; `core.scheduling.engine`). The spec's 15-minute candidates stay bookable by a
hold (the last tests here)."""

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from core import db as core_db
from tests.integration.scheduling.conftest import paris, starts

URL = "/api/doctors/{}/unified-availability"


def window(day: int, h1: int = 0, h2: int = 23, month: int = 3) -> dict:
    return {"from": paris(day, h1, month=month).isoformat(), "to": paris(day, h2, 59, month=month).isoformat()}


def test_a_template_day_offers_10_to_20_30_every_45_minutes(client, doctor):
    body = client.get(URL.format(doctor.doctor.id), query_string=window(3)).get_json()
    got = starts(body)
    assert got[0] == paris(3, 10) and got[-1] == paris(3, 20, 30)
    assert len(got) == 15 and all(b - a == timedelta(minutes=45) for a, b in itertools.pairwise(got))
    assert body["doctorTimezone"] == "Europe/Paris"
    assert body["slots"][0]["start"] == "2026-03-03T09:00:00Z"  # ISO 8601, UTC designator


def test_an_explicit_day_offers_only_its_own_slots(client, doctor, add_slots):
    add_slots(doctor.doctor.id, [paris(3, 8), paris(3, 8, 30), paris(3, 14)])
    got = starts(client.get(URL.format(doctor.doctor.id), query_string=window(3)).get_json())
    assert got == [paris(3, 8), paris(3, 14)]  # 08:30 would collide with 08:00: not both bookable


def test_a_14_00_booking_blocks_13_30_to_14_30_and_14_45_is_next(client, doctor, book):
    book(doctor.doctor.id, paris(3, 14))
    body = client.get(URL.format(doctor.doctor.id), query_string=window(3, 13, 15)).get_json()
    got = starts(body)
    assert not {paris(3, 13, 30), paris(3, 13, 45), paris(3, 14), paris(3, 14, 15), paris(3, 14, 30)} & set(got)
    assert got == [paris(3, 13), paris(3, 14, 45), paris(3, 15, 30)]  # the rhythm starts again after the booking
    booked = [s for s in body["slots"] if s["isBooked"]]
    assert len(booked) == 1 and not booked[0]["isAvailable"]


@pytest.mark.parametrize(("now_minute", "first_offered"), [(30, (11, 30)), (31, (12, 15))])
def test_60_minutes_notice_exactly(client, doctor, clock_at, now_minute, first_offered):
    clock_at(paris(2, 10, now_minute))
    got = starts(client.get(URL.format(doctor.doctor.id), query_string=window(2)).get_json())
    assert got[0] == paris(2, *first_offered)


def test_an_offline_doctor_offers_nothing(client, doctor, login, csrf_header):
    login(doctor.email)
    assert client.patch("/api/doctor/status", json={"online": False},
                        headers=csrf_header()).status_code == 200
    assert client.get(URL.format(doctor.doctor.id)).get_json()["slots"] == []


def test_default_window_is_the_next_7_days(client, doctor):
    got = starts(client.get(URL.format(doctor.doctor.id)).get_json())
    assert got[0] == paris(2, 10) and got[-1] == paris(8, 20, 30)


@pytest.mark.parametrize(("query", "status"), [
    ({"from": "2026-03-05T10:00:00+01:00", "to": "2026-03-04T10:00:00+01:00"}, 422),
    ({"from": "2026-03-02T10:00:00+01:00", "to": "2026-05-04T10:00:00+01:00"}, 422),
    ({"from": "yesterday"}, 422),
    ({"from": "2026-03-02T10:00:00"}, 422),
])
def test_bad_windows_get_a_clear_422(client, doctor, query, status):
    response = client.get(URL.format(doctor.doctor.id), query_string=query)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == "ERR_VALIDATION"


def test_a_plus_sign_lost_in_the_url_is_understood(client, doctor):
    response = client.get(URL.format(doctor.doctor.id) + "?from=2026-03-03T09:00:00+01:00")
    assert response.status_code == 200


def test_unknown_doctor_is_404(client, clock_at):
    response = client.get(URL.format("00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "ERR_NOT_FOUND"


def test_batch_gives_the_next_two_slots_of_many_doctors_in_three_queries(client, make_user, clock_at, add_slots):
    doctors = [make_user("doctor", timezone="Europe/Paris").doctor.id for _ in range(10)]
    add_slots(doctors[0], [paris(2, 9), paris(2, 9, 45)])
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            statements.append(statement)

    engine = core_db.current().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        body = client.get("/api/doctors/next-slots", query_string={"ids": ",".join(map(str, doctors))}).get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) <= 3
    assert set(body["doctors"]) == {str(d) for d in doctors}
    assert all(len(v) == 2 for v in body["doctors"].values())
    first = body["doctors"][str(doctors[0])]
    assert [datetime.fromisoformat(s["start"]) for s in first] == [paris(2, 9), paris(2, 9, 45)]


@pytest.mark.parametrize("ids", ["not-a-uuid", ",".join(["00000000-0000-0000-0000-000000000000"] * 51)])
def test_batch_refuses_bad_ids(client, clock_at, ids):
    response = client.get("/api/doctors/next-slots", query_string={"ids": ids})
    assert response.status_code == 422



def test_a_free_start_between_offered_ones_can_still_be_held_and_the_rhythm_moves_around_it(
        client, doctor, make_user):
    from core.scheduling.holds import hold_slot

    before = starts(client.get(URL.format(doctor.doctor.id), query_string=window(3)).get_json())
    assert paris(3, 14) not in before and {paris(3, 13, 45), paris(3, 14, 30)} <= set(before)
    hold_slot(make_user("patient").actor, doctor_id=doctor.doctor.id, start=paris(3, 14))  # SPEC §3: free
    after = starts(client.get(URL.format(doctor.doctor.id), query_string=window(3)).get_json())
    assert [s for s in after if s < paris(3, 16)] == [
        paris(3, 10), paris(3, 10, 45), paris(3, 11, 30), paris(3, 12, 15), paris(3, 13), paris(3, 14, 45),
        paris(3, 15, 30)]
