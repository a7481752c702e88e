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


def _download(client, view: str, range_name: str, query) -> dict:
    """Press a table's "Download CSV" the way the console's page does: Dash's callback request with
    the period and the table's query store as they are on screen."""
    import json

    client.get("/admin/")
    token = client.get_cookie("_csrf_token", path="/admin/").value
    button, target = {"type": "admin-table-csv", "view": view}, {"type": "admin-table-download", "view": view}
    spec = next(d for d in client.get("/admin/_dash-dependencies").get_json()
                if d["output"].startswith('{"type":"admin-table-download"'))
    body = {"output": spec["output"], "outputs": {"id": target, "property": "data"},
            "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
            "state": [{"id": "admin-range", "property": "data", "value": range_name},
                      {"id": {"type": "admin-query", "view": view}, "property": "data", "value": query}],
            "changedPropIds": [json.dumps(button, separators=(",", ":")) + ".n_clicks"]}
    answer = client.post("/admin/_dash-update-component", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return next(iter(answer.get_json()["response"].values()))["data"]


@pytest.mark.parametrize(("view", "range_name", "query"), [
    ("appointments", "week", {"search": "P2", "status": "", "sort": "start_asc"}),
    ("appointments", "week", {"search": "", "status": "completed", "sort": "booked_desc"}),
    ("payments", "today", {"search": "", "status": "succeeded", "sort": "amount_desc"}),
    ("patients", "week", {"search": "patient", "status": "booked", "sort": "newest"}),
    ("doctors", "week", {"search": "dr d2", "status": "", "sort": "name"}),
])
def test_a_downloaded_table_csv_is_exactly_the_filtered_rows_on_screen(client, login, make_user, clinic, at_now,
                                                                      view, range_name, query):
    """The CSV of a table holds the rows the admin sees, searched, filtered and sorted — every page
    of that view (paged here one row at a time), in the same order — read back with pandas."""
    import base64

    import pandas as pd

    login(make_user("admin").email)
    on_screen, number = [], 1
    while True:
        shown = listings.page_of(SYSTEM, view, range_name, number, page_size=1, now=NOW, query=Query(**query))
        on_screen += [str(r["id"]) for r in shown.rows]
        if number >= shown.pages:
            break
        number += 1
    unfiltered = listings.page_of(SYSTEM, view, range_name, now=NOW, page_size=500).total
    assert 0 < len(on_screen) < unfiltered  # the filter really leaves rows out

    file = _download(client, view, range_name, query)
    content = base64.b64decode(file["content"]) if file.get("base64") else file["content"].encode()
    assert content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
    assert frame["id"].tolist() == on_screen


def test_a_forged_table_query_downloads_the_whole_table(client, login, make_user, clinic, at_now):
    """A query store of the wrong type is read as no query (the whole period), never a 500."""
    import pandas as pd

    login(make_user("admin").email)
    file = _download(client, "appointments", "week", ["not", "a", "query"])
    frame = pd.read_csv(io.StringIO(file["content"].lstrip("\ufeff")), dtype=str)
    assert len(frame) == listings.page_of(SYSTEM, "appointments", "week", now=NOW, page_size=500).total
