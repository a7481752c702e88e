"""SPEC §22 "Tables": search, sort and status filters run in PostgreSQL, with the server's paging,
on the hand-computed clinic of conftest.py; what the admin types is a parameter, never SQL."""

import csv
import io

import pytest

from core.actor import SYSTEM
from core.errors import ValidationFailed
from core.metrics import listings
from core.metrics.listings import Query
from tests.integration.metrics.conftest import NOW


def page(key, range_name="week", **query):
    return listings.page_of(SYSTEM, key, range_name, now=NOW, page_size=500, query=Query(**query))


def test_appointments_by_status_search_and_sort(clinic):
    assert {r["id"] for r in page("appointments", status="no_show").rows} == {clinic.appointments["A3"]}
    found = page("appointments", search="patient p2")  # case-insensitive, names of patients or doctors
    assert {r["id"] for r in found.rows} == {clinic.appointments["A2"], clinic.appointments["A6"]}
    assert found.total == 2
    by_doctor = page("appointments", search="Dr D2")
    assert {r["doctor"].split()[1] for r in by_doctor.rows} == {"D2"}
    ascending = [r["start_at"] for r in page("appointments", sort="start_asc").rows]
    assert ascending == sorted(ascending)
    assert page("appointments", search="patient p2", status="completed").total == 1


def test_paging_applies_after_the_filter(clinic):
    first = listings.page_of(SYSTEM, "appointments", "week", 1, page_size=1, now=NOW, query=Query(search="P2"))
    second = listings.page_of(SYSTEM, "appointments", "week", 2, page_size=1, now=NOW, query=Query(search="P2"))
    assert (first.total, first.pages) == (2, 2) and first.rows[0]["id"] != second.rows[0]["id"]


def test_doctors_payments_and_patients(clinic):
    assert [r["id"] for r in page("doctors", search="dr d1", range_name="today").rows] == [clinic.doctors["D1"]]
    assert page("doctors", search="dr d1", range_name="today", status="offline").total == 0
    failed = page("payments", range_name="today", status="failed")
    assert failed.total == 1 and failed.rows[0]["status"] == "failed"
    amounts = [r["amount_cents"] for r in page("payments", range_name="today", sort="amount_desc").rows]
    assert amounts == sorted(amounts, reverse=True)
    no_shows = page("patients", range_name="today", status="no_show")
    assert [r["patient"] for r in no_shows.rows] == ["Patient P3"]


@pytest.mark.parametrize("typed", ["%", "_", "\\", "'; DROP TABLE appointments; --", "x' OR '1'='1"])
def test_what_is_typed_is_a_pattern_not_sql(clinic, typed):
    assert page("appointments", search=typed).total == 0
    assert page("appointments").total == 5  # the table is still there


@pytest.mark.parametrize("query", [Query(status="deleted"), Query(sort="id; DROP TABLE x")])
def test_unknown_status_or_sort_is_refused(clinic, query):
    with pytest.raises(ValidationFailed):
        listings.page_of(SYSTEM, "appointments", "week", now=NOW, query=query)


def test_the_csv_follows_the_filter(clinic):
    text = listings.listing_csv(SYSTEM, "appointments", "week", now=NOW, query=Query(status="completed"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["status"] for r in rows} == {"completed"} and len(rows) == 2
