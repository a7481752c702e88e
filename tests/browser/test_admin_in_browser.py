"""The admin console in Chromium against a real `doktu serve` (issue 9, SPEC §9): the tiles show a
hand-computed day, definitions are in tooltips, a table pages on the server, CSV downloads, and
axe finds nothing on any of the seven views.

The fixture writes one day — yesterday in Paris — straight into the live server's database (as
its owner) and removes it afterwards: no other test writes yesterday, so the figures are exact
whatever else the browser suite books today.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import resources

pytestmark = pytest.mark.browser

PARIS = ZoneInfo("Europe/Paris")
ADMIN = "admin@demo.doktu.eu"
AXE = Axe()
VIEWS = ["Overview", "Appointments", "Doctors", "Patients", "Payments", "Alerts", "Exports"]
# Yesterday's figures, computed by hand from the rows below.
EXPECTED = {"booked": "3", "completed": "2", "noShowRate": "33.3 %", "arpa": "€52.50",
            "appointmentsPerPatient": "1.50", "doctorUtilisation": "13.6 %", "bookingConversion": "75.0 %",
            "newPatients": "1"}
DECLINED = 27  # card payments declined yesterday: with the 3 that went through, 30 rows = 2 pages


@pytest.fixture(scope="module")
def yesterday_clinic(live_doktu, server_url):
    """One doctor (offering the 11-hour template) and two patients, yesterday (Paris):
    B1 Q1 10:00 completed · B2 Q2 11:00 no-show · B3 Q2 14:00 completed, all paid by card (35 €);
    B4 Q1 held, never paid; Q1 joined yesterday; 27 declined card payments."""
    name = f"{resources.db_name()}_browser"
    engine = create_engine(make_url(server_url).set(database=name))
    day = datetime.now(PARIS).date() - timedelta(days=1)

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), PARIS)

    tag = uuid.uuid4().hex[:8]
    long_ago = datetime(2020, 1, 1, tzinfo=PARIS)
    with engine.begin() as conn:
        def user(email, role, full_name, created):
            return conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash, created_at)
                VALUES (:e, :r, :n, 'x', :c) RETURNING id"""), {"e": email, "r": role, "n": full_name,
                                                                "c": created}).scalar_one()

        doctor_user = user(f"kpi-doc-{tag}@tests.doktu.eu", "doctor", "Dr Kpi", long_ago)
        doctor = conn.execute(text("""INSERT INTO doctors (user_id, display_name, specialty, created_at)
            VALUES (:u, 'Dr Kpi Fixture', 'General practice', :c) RETURNING id"""),
            {"u": doctor_user, "c": long_ago}).scalar_one()
        people = {}
        for key, created in (("Q1", at(9)), ("Q2", long_ago)):
            uid = user(f"kpi-{key.lower()}-{tag}@tests.doktu.eu", "patient", f"Kpi {key}", created)
            pid = conn.execute(text("INSERT INTO patients (user_id, created_at) VALUES (:u, :c) RETURNING id"),
                               {"u": uid, "c": created}).scalar_one()
            people[key] = (uid, pid)
        for _key, patient, start, status, held, paid in (
                ("B1", "Q1", at(10), "completed", at(8), at(8, 2)),
                ("B2", "Q2", at(11), "no_show", at(8, 10), at(8, 12)),
                ("B3", "Q2", at(14), "completed", at(9), at(9, 3)),
                ("B4", "Q1", at(16), "cancelled", at(9, 30), None)):
            aid = conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status,
                    cancelled_at, created_at) VALUES (:d, :p, :s, :s + interval '30 minutes', :st, :ca, :h)
                    RETURNING id"""), {"d": doctor, "p": people[patient][1], "s": start, "st": status, "h": held,
                                       "ca": held + timedelta(minutes=15) if status == "cancelled" else None}
                               ).scalar_one()
            for step, moment in (("slot_held", held), ("paid", paid)):
                if moment:
                    conn.execute(text("""INSERT INTO funnel_events (occurred_at, user_id, step, doctor_id,
                        appointment_id) VALUES (:t, :u, :s, :d, :a)"""),
                                 {"t": moment, "u": people[patient][0], "s": step, "d": doctor, "a": aid})
            if paid:
                conn.execute(text("""INSERT INTO payments (user_id, appointment_id, kind, provider, status,
                    amount_cents, created_at, updated_at) VALUES (:u, :a, 'visit', 'local', 'succeeded', 3500,
                    :c, :c)"""), {"u": people[patient][0], "a": aid, "c": paid - timedelta(minutes=1)})
        for i in range(DECLINED):
            conn.execute(text("""INSERT INTO payments (user_id, kind, provider, status, amount_cents, failure_code,
                created_at, updated_at) VALUES (:u, 'visit', 'local', 'failed', 3500, 'card_declined', :c, :c)"""),
                         {"u": people["Q2"][0], "c": at(7) + timedelta(seconds=i)})
    yield day
    with engine.begin() as conn:
        users = [doctor_user, *(uid for uid, _ in people.values())]
        conn.execute(text("DELETE FROM funnel_events WHERE doctor_id = :d OR user_id = ANY(:u)"),
                     {"d": doctor, "u": users})
        conn.execute(text("DELETE FROM payments WHERE user_id = ANY(:u)"), {"u": users})
        conn.execute(text("DELETE FROM appointments WHERE doctor_id = :d"), {"d": doctor})
        conn.execute(text("DELETE FROM users WHERE id = ANY(:u)"), {"u": users})
    engine.dispose()


def open_console(page: Page, login) -> None:
    login(ADMIN, next_path="/admin/")
    expect(page.locator("#admin-section-title")).to_have_text("Overview")


def choose(page: Page, period: str) -> None:
    button = page.get_by_role("group", name="Period").get_by_role("button", name=period)
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def tile_value(page: Page, key: str):
    return page.locator(f'[data-kpi="{key}"] .admin-tile__value')


def test_tiles_show_yesterdays_figures_with_their_definitions(page: Page, login, dash_failures, yesterday_clinic):
    open_console(page, login)
    choose(page, "Yesterday")

    expect(page.locator("#admin-period")).to_contain_text(f"{yesterday_clinic:%a} {yesterday_clinic.day} "
                                                          f"{yesterday_clinic:%b %Y}")
    for key, shown in EXPECTED.items():
        expect(tile_value(page, key)).to_have_text(shown)
    expect(page.locator('[data-kpi="booked"] .admin-tile__change')).to_contain_text("vs the day before")

    info = page.get_by_role("button", name="What No-show % means")
    info.focus()
    tooltip = page.get_by_role("tooltip")
    expect(tooltip).to_contain_text("no-shows ÷ (completed + no-shows)")
    expect(info).to_have_accessible_description(re.compile(r"^Share of ended consultations where the patient did "
                                                           r"not come: no-shows ÷ \(completed \+ no-shows\)"))
    daily = page.locator("#admin-daily-table")
    day = f"{yesterday_clinic:%a} {yesterday_clinic.day} {yesterday_clinic:%b %Y}"  # Babel: no leading zero
    expect(daily.get_by_role("row").filter(has_text=day)).to_contain_text("€105.00")
    # the charts are HTML (no plotly.js): a column per day, the funnel's steps as text
    expect(page.locator("#admin-bookings-columns .admin-columns__day")).to_have_count(7)
    expect(page.locator('#admin-funnel-bars [data-step="paid"]')).to_have_attribute("data-people", "2")
    assert page.evaluate("() => typeof window.Plotly") == "undefined"
    assert dash_failures == []


def test_payments_table_pages_on_the_server_and_downloads_as_csv(page: Page, login, dash_failures, yesterday_clinic):
    open_console(page, login)
    choose(page, "Yesterday")
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Payments").click()
    expect(page.locator("#admin-section-title")).to_have_text("Payments")

    status = page.get_by_role("status").filter(has_text="Rows")
    expect(status).to_have_text(f"Rows 1–25 of {DECLINED + 3} · page 1 of 2")
    expect(page.locator("#admin-payments-table tbody tr")).to_have_count(25)
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(status).to_have_text(f"Rows 26–{DECLINED + 3} of {DECLINED + 3} · page 2 of 2")
    expect(page.locator("#admin-payments-table tbody tr")).to_have_count(5)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("doktu-payments-yesterday-")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the accents (SPEC §22)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == DECLINED + 3
    assert sorted({r["status"] for r in rows}) == ["failed", "succeeded"]
    assert sum(int(r["amount_cents"]) for r in rows if r["status"] == "succeeded") == 10500
    assert dash_failures == []


def test_a_filtered_table_downloads_the_rows_on_screen(page: Page, login, dash_failures, yesterday_clinic):
    """Issue 20: the CSV of a table is the view on screen — here Payments filtered to "Succeeded"
    and sorted by amount — not the whole period; read back with pandas."""
    import pandas as pd

    open_console(page, login)
    choose(page, "Yesterday")
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Payments").click()
    status = page.get_by_role("status").filter(has_text="Rows")
    expect(status).to_have_text(f"Rows 1–25 of {DECLINED + 3} · page 1 of 2")
    page.get_by_role("group", name="Status").get_by_role("button", name="Succeeded").click()
    page.get_by_role("group", name="Sort").get_by_role("button", name="Highest amount").click()
    expect(status).to_have_text("Rows 1–3 of 3 · page 1 of 1")
    shown = page.locator("#admin-payments-table tbody tr")
    expect(shown).to_have_count(3)
    with page.expect_download() as download:
        page.locator("#admin-section-title").locator("xpath=..").get_by_role("button", name="Download CSV").click()
    frame = pd.read_csv(download.value.path(), encoding="utf-8-sig")
    assert len(frame) == 3 and set(frame["status"]) == {"succeeded"}
    assert frame["amount_cents"].tolist() == sorted(frame["amount_cents"], reverse=True)
    assert dash_failures == []


def test_exports_view_downloads_the_kpi_summary(page: Page, login, dash_failures, yesterday_clinic):
    open_console(page, login)
    choose(page, "Yesterday")
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Exports").click()
    expect(page.locator("#admin-exports")).to_contain_text("/api/metrics/export.csv?range=yesterday")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download KPI summary CSV").click()
    text_csv = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = {r["kpi"]: r for r in csv.DictReader(io.StringIO(text_csv))}
    assert rows["booked"]["value"] == "3" and rows["arpa"]["value"] == "5250" and rows["newPatients"]["value"] == "1"
    api = page.request.get("/api/metrics/overview?range=yesterday").json()
    assert api["kpis"]["bookingConversion"]["value"] == 0.75
    assert dash_failures == []


def test_every_view_passes_axe(page: Page, login, dash_failures, yesterday_clinic):
    open_console(page, login)
    sidebar = page.get_by_role("navigation", name="Admin sections")
    for view in VIEWS:
        sidebar.get_by_role("link", name=view).click()
        expect(page.locator("#admin-section-title")).to_have_text(view)
        expect(page.get_by_text("Loading…")).to_have_count(0)
        page.wait_for_load_state("networkidle")
        results = AXE.run(page)
        assert results.violations_count == 0, f"{view}\n{results.generate_report()}"
    assert dash_failures == []
