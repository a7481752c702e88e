"""The metrics API (SPEC §12): admin only, camelCase, the clinic's figures, CSV for analysts."""

import csv
import io

import pytest

from tests.integration.metrics.conftest import paris

ENDPOINTS = ["/api/metrics/overview", "/api/metrics/funnel", "/api/metrics/export.csv", "/api/metrics/alerts"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_callers_get_401(client, path):
    response = client.get(path)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "ERR_UNAUTHENTICATED"


@pytest.mark.parametrize("role", ["patient", "doctor"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_other_roles_get_403(client, make_user, login, role, path):
    login(make_user(role).email)
    response = client.get(path)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "ERR_FORBIDDEN"


def test_bearer_token_of_an_admin_works(client, make_user):
    admin = make_user("admin")
    token = client.post("/api/auth/token", json={"email": admin.email, "password": "Correct-Horse-42!"})
    response = client.get("/api/metrics/overview?range=today",
                          headers={"Authorization": f"Bearer {token.get_json()['access_token']}"})
    assert response.status_code == 200


def csv_text(response) -> str:
    """The CSV file as Excel gets it: UTF-8 starting with a byte order mark (SPEC §22)."""
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return data.decode("utf-8-sig")


@pytest.fixture
def admin_client(client, make_user, login, clinic, at_now):
    login(make_user("admin").email)
    return client


def test_overview_answers_the_clinic_figures(admin_client):
    body = admin_client.get("/api/metrics/overview?range=today").get_json()
    kpis = body["kpis"]
    assert set(kpis) == {"booked", "completed", "noShowRate", "arpa", "appointmentsPerPatient",
                         "doctorUtilisation", "bookingConversion", "newPatients"}
    assert kpis["booked"]["value"] == 3 and kpis["booked"]["previous"] == 1 and kpis["booked"]["change"] == 2
    assert kpis["noShowRate"]["value"] == 0.5 and kpis["noShowRate"]["unit"] == "ratio"
    assert kpis["arpa"] == {**kpis["arpa"], "value": 4200, "unit": "cents", "higherIsBetter": True}
    assert kpis["noShowRate"]["higherIsBetter"] is False
    assert kpis["booked"]["definition"].startswith("Appointments that became paid in the period")
    assert body["range"]["name"] == "today" and body["range"]["timezone"] == "Europe/Paris"
    assert body["range"]["from"] == "2026-03-29T22:00:00Z" and body["range"]["to"] == "2026-03-30T22:00:00Z"
    assert body["range"]["previousFrom"] == "2026-03-28T23:00:00Z"  # the 23-hour day before


def test_undefined_kpis_are_null_not_errors(client, make_user, login, clinic, time_machine):
    time_machine.move_to(paris(15, 12, month=1), tick=False)
    login(make_user("admin").email)
    kpis = client.get("/api/metrics/overview?range=today").get_json()["kpis"]
    assert kpis["booked"]["value"] == 0 and kpis["arpa"]["value"] is None and kpis["arpa"]["change"] is None


def test_default_range_is_the_last_7_days(admin_client):
    assert admin_client.get("/api/metrics/overview").get_json()["range"]["days"] == 7


@pytest.mark.parametrize("query", ["range=quarter", "range=", "range=week&table=raw"])
def test_bad_ranges_are_422(admin_client, query):
    path = "/api/metrics/export.csv" if "table" in query else "/api/metrics/overview"
    response = admin_client.get(f"{path}?{query}")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "ERR_VALIDATION"


def test_funnel_api(admin_client):
    body = admin_client.get("/api/metrics/funnel?range=today").get_json()
    steps = {s["step"]: s for s in body["steps"]}
    assert list(steps) == ["availability_viewed", "slot_held", "signed_up", "checkout_started", "paid",
                           "device_test_passed", "joined"]
    assert steps["paid"]["people"] == 2 and steps["slot_held"]["people"] == 2 and "People" in body["counting"]


def test_kpi_csv(admin_client):
    response = admin_client.get("/api/metrics/export.csv?range=today")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="doktu-kpis-today.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_text(response))))
    assert [r["kpi"] for r in rows] == ["booked", "completed", "noShowRate", "arpa", "appointmentsPerPatient",
                                        "doctorUtilisation", "bookingConversion", "newPatients"]
    by = {r["kpi"]: r for r in rows}
    assert (by["booked"]["value"], by["booked"]["previous"], by["booked"]["change"]) == ("3", "1", "2")
    assert by["arpa"]["value"] == "4200" and by["noShowRate"]["value"] == "0.5"
    assert by["doctorUtilisation"]["value"] == "0.12"
    assert rows[0]["from"] == "2026-03-29T22:00:00+00:00" and rows[0]["previous_from"] == "2026-03-28T23:00:00+00:00"
    assert by["completed"]["definition"] == "Consultations marked completed whose start time falls in the period."


def test_kpi_csv_leaves_undefined_values_empty(admin_client):
    rows = list(csv.DictReader(io.StringIO(csv_text(admin_client.get("/api/metrics/export.csv?range=week")))))
    by = {r["kpi"]: r for r in rows}
    assert by["bookingConversion"]["previous"] == "" and by["bookingConversion"]["change"] == ""


def test_daily_csv(admin_client):
    text = csv_text(admin_client.get("/api/metrics/export.csv?range=week&table=daily"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "range,day,booked,completed,no_show,net_revenue_cents,paying_accounts,new_patients"
    assert [r["day"] for r in rows] == [f"2026-03-{d}" for d in range(24, 31)]
    assert rows[-1] == {"range": "week", "day": "2026-03-30", "booked": "3", "completed": "1", "no_show": "1",
                        "net_revenue_cents": "8400", "paying_accounts": "2", "new_patients": "2"}


def test_alerts_api_lists_the_feed(admin_client):
    body = admin_client.get("/api/metrics/alerts").get_json()
    assert isinstance(body["alerts"], list)
    for alert in body["alerts"]:
        assert alert["severity"] in ("critical", "warning", "info") and alert["action"]


def test_alerts_api_says_when_the_background_jobs_last_ran(admin_client):
    from datetime import timedelta

    from core import heartbeats
    from tests.integration.metrics.conftest import NOW

    heartbeats.job_finished("unlock-stale-slots", now=NOW - timedelta(seconds=40))
    heartbeats.job_finished("cal-sync", error="ConnectionError", now=NOW - timedelta(minutes=4))
    body = admin_client.get("/api/metrics/alerts").get_json()
    assert body["jobsLastRanSecondsAgo"] == 40 and body["jobsStatus"] == "Background jobs last ran 40 s ago."
    assert {j["name"]: j["lastError"] for j in body["jobs"]} == {"cal-sync": "ConnectionError",
                                                                 "unlock-stale-slots": None}
    assert "jobs_stalled" not in {a["code"] for a in body["alerts"]}


def test_a_stalled_worker_is_a_critical_alert_with_the_runbook(admin_client):
    from datetime import timedelta

    from core import heartbeats
    from tests.integration.metrics.conftest import NOW

    heartbeats.job_finished("unlock-stale-slots", now=NOW - timedelta(minutes=3, seconds=1))
    body = admin_client.get("/api/metrics/alerts").get_json()
    stalled = body["alerts"][0]
    assert (stalled["code"], stalled["severity"]) == ("jobs_stalled", "critical")
    assert "last ran 3 min ago" in stalled["detail"] and "docs/operations.md" in stalled["action"]
    assert body["jobsStatus"] == "Background jobs last ran 3 min ago."


def test_the_console_overview_says_when_the_background_jobs_last_ran(app, make_user, clinic, at_now, monkeypatch):
    from datetime import timedelta
    from types import SimpleNamespace

    from core import heartbeats
    from portals.admin import dash_app
    from tests.integration.metrics.conftest import NOW

    heartbeats.job_finished("unlock-stale-slots", now=NOW - timedelta(seconds=40))
    monkeypatch.setattr(dash_app, "current_user", SimpleNamespace(actor=make_user("admin").actor))
    with app.test_request_context("/admin/"):
        updated = dash_app.overview_outputs("week")[-1]
    assert updated.endswith("refreshed every minute. Background jobs last ran 40 s ago.")


@pytest.mark.parametrize("language", ["fr", "de"])
def test_kpi_csv_for_a_french_or_german_admin_opens_in_their_excel(admin_client, language):
    """BOM, `;` and decimal commas when the admin reads in French or German; pandas reads it back."""
    import pandas as pd

    response = admin_client.get("/api/metrics/export.csv?range=today", headers={"Accept-Language": language})
    text = csv_text(response)
    assert text.splitlines()[0].startswith("range;from;to;")
    frame = pd.read_csv(io.BytesIO(response.get_data()), sep=";", decimal=",", encoding="utf-8-sig")
    by = frame.set_index("kpi")
    assert by.loc["noShowRate", "value"] == 0.5 and by.loc["arpa", "value"] == 4200
    assert by.loc["doctorUtilisation", "value"] == 0.12
