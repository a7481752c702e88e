"""`GET /api/appointments` (SPEC §12, issue 23): every appointment reachable, latest start first,
`limit` per page and an opaque `nextCursor` — no more silent cut at the 100 oldest."""

import base64
from datetime import timedelta

import pytest

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment
from tests.integration.scheduling.conftest import paris

LIST = "/api/appointments"


@pytest.fixture
def seven(make_user, clock_at, login):
    """A signed-in patient with 7 appointments (two at the same minute with different doctors, so
    the id breaks the tie); another patient's appointment that must never show."""
    patient, doctors = make_user("patient"), [make_user("doctor") for _ in range(2)]
    starts = [paris(3, 9), paris(3, 11), paris(4, 9), paris(4, 9), paris(5, 14), paris(2, 8), paris(20, 10)]
    with unit_of_work(SYSTEM) as uow:
        for i, start in enumerate(starts):
            uow.session.add(Appointment(doctor_id=doctors[i % 2].doctor.id, patient_id=patient.patient.id,
                                        start_at=start, end_at=start + timedelta(minutes=30), status="confirmed"))
        stranger = make_user("patient")
        uow.session.add(Appointment(doctor_id=doctors[0].doctor.id, patient_id=stranger.patient.id,
                                    start_at=paris(6, 9), end_at=paris(6, 9, 30), status="confirmed"))
    login(patient.email)
    return patient


def ids_and_starts(body):
    return [(a["id"], a["start"]) for a in body["appointments"]]


def test_pages_follow_the_cursor_latest_first_without_gaps_or_repeats(client, seven):
    pages, cursor = [], None
    while True:
        response = client.get(LIST, query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pages.append(ids_and_starts(body))
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    everything = [item for page in pages for item in page]
    assert len({i for i, _ in everything}) == 7  # each once, the stranger's never
    full = client.get(LIST).get_json()
    assert ids_and_starts(full) == everything and full["nextCursor"] is None  # default 50 holds all 7
    starts = [s for _, s in everything]
    assert starts == sorted(starts, reverse=True)
    assert starts[0].startswith("2026-03-20") and starts[-1].startswith("2026-03-02")
    same_minute = [i for i, s in everything if s.startswith("2026-03-04T08:00")]
    assert len(same_minute) == 2 and same_minute == sorted(same_minute, reverse=True)


def test_limit_is_1_to_100_and_a_made_up_cursor_is_422(client, seven):
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "many"}, {"cursor": "not-a-cursor"},
                {"cursor": base64.urlsafe_b64encode(b"0001-01-01T00:00:00+00:00|x").decode()},
                {"cursor": base64.urlsafe_b64encode(b"2026-03-04T08:00:00|6b1f9a44-2f0e-4d7e-9a51-3c8f0f2b7a10").decode()}):
        response = client.get(LIST, query_string=bad)
        assert response.status_code == 422, (bad, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "ERR_VALIDATION"
    assert len(client.get(LIST, query_string={"limit": 100}).get_json()["appointments"]) == 7


def test_the_openapi_document_describes_the_paging(client):
    doc = client.get("/api/openapi.json").get_json()
    params = {p["name"] for p in doc["paths"]["/api/appointments"]["get"]["parameters"]}
    assert params == {"limit", "cursor"}
    assert "nextCursor" in str(doc["components"]["schemas"])
