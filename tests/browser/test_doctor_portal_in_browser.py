"""The doctor portal in Chromium against a real `doktu serve` (SPEC §4, §9; issue 8): a press turns
a time off and on and the public availability follows, booked cells name the patient on keyboard
focus, past cells do nothing, Offline hides every slot, Join live in the window, and axe finds
nothing on the Day, Week and Month views.

Data the journey needs (a booking, a device test) is written straight into the server's database as
its owner; doctor8 is used by no other browser test."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import resources
from tests.browser.conftest import DASH_UPDATE, assert_no_axe_violations

pytestmark = pytest.mark.browser

DOCTOR = "doctor8@demo.doktu.eu"
PATIENT_NAME = "Noor Haddad"


def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


@pytest.fixture(scope="module")
def clinic(live_doktu, server_url):
    """doctor8's id and zone, a patient booked tomorrow 15:00 and another consultation starting in
    two minutes (the doctor has passed the device test), written as the database owner."""
    name = f"{resources.db_name()}_browser"  # tests/browser/conftest.py's database
    engine = create_engine(make_url(server_url).set(database=name))
    with engine.begin() as conn:
        doctor = conn.execute(text("""SELECT d.id, d.user_id, d.timezone FROM doctors d JOIN users u ON u.id = d.user_id
                                      WHERE u.email = :e"""), {"e": DOCTOR}).one()
        tz = ZoneInfo(doctor.timezone)
        user_id = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
            VALUES (:e, 'patient', :n, 'x') RETURNING id"""), {"e": f"noor-{uuid.uuid4().hex[:8]}@tests.doktu.eu",
                                                                 "n": PATIENT_NAME}).scalar()
        patient_id = conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"),
                                  {"u": user_id}).scalar()
        tomorrow = datetime.now(tz).date() + timedelta(days=1)
        booked_at = datetime.combine(tomorrow, datetime.min.time(), tz).replace(hour=15)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        live_at = now + timedelta(minutes=2)
        for start in (booked_at, live_at):
            conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
                                 VALUES (:d, :p, :s, :e, 'confirmed')"""),
                         {"d": doctor.id, "p": patient_id, "s": start, "e": start + timedelta(minutes=30)})
        conn.execute(text("""INSERT INTO video_tests (user_id, passed, outcome, created_at)
                             VALUES (:u, true, 'passed', now())"""), {"u": doctor.user_id})
    engine.dispose()
    return {"doctor_id": str(doctor.id), "tz": tz, "tomorrow": tomorrow, "booked_at": booked_at}


def offered_starts(page: Page, doctor_id: str, day: date, tz: ZoneInfo) -> set[str]:
    start = datetime.combine(day, datetime.min.time(), tz)
    response = page.request.get(f"/api/doctors/{doctor_id}/unified-availability", params={
        "from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()})
    assert response.ok, response.text()
    return {datetime.fromisoformat(s["start"]).astimezone(tz).strftime("%H:%M")
            for s in response.json()["slots"] if s["isAvailable"]}


def open_portal(page: Page, login, clinic) -> None:
    login(DOCTOR, next_path="/doctor/")
    expect(page.get_by_role("heading", name="Upcoming consultations")).to_be_visible()
    expect(page.locator("#doctor-cal-table")).to_be_visible()
    today = datetime.now(clinic["tz"]).date()
    if clinic["tomorrow"].weekday() == 0 and today.weekday() == 6:  # tomorrow is in next week's grid
        page.get_by_role("button", name="Next ›").click()
        expect(page.locator("#doctor-cal-title")).to_contain_text(f"Week of {clinic['tomorrow'].day} ")


def cell(page: Page, day: date, hhmm: str):
    return page.locator(f'#doctor-cal-table [aria-label^="{day_label(day)}, {hhmm},"]')


def assert_dialog_clean(page: Page) -> None:
    expect(page.locator(".modal.show")).to_have_css("opacity", "1")  # faded in: axe sees the final colours
    expect(page.locator(".modal-backdrop.show")).to_have_css("opacity", "0.5")
    assert_no_axe_violations(page)


def test_a_press_withdraws_a_time_from_patients_and_a_second_press_offers_it_again(page: Page, login, clinic,
                                                                                     dash_failures):
    open_portal(page, login, clinic)
    day, tz, doctor_id = clinic["tomorrow"], clinic["tz"], clinic["doctor_id"]
    target = cell(page, day, "10:00")
    expect(target).to_have_attribute("aria-label", f"{day_label(day)}, 10:00, available — press to turn off")
    in_cell = {"10:00", "10:15"}  # patients are offered one start of the 45-minute rhythm in this cell
    assert in_cell & offered_starts(page, doctor_id, day, tz)

    target.click()
    expect(target).to_have_attribute("aria-label", f"{day_label(day)}, 10:00, unavailable — press to turn on")
    expect(page.locator("#doctor-cal-status")).to_have_text(f"{day_label(day)}, 10:00 is now unavailable.")
    assert not in_cell & offered_starts(page, doctor_id, day, tz)

    target.focus()  # and back on by keyboard: the same button keeps the focus
    page.keyboard.press("Enter")
    expect(target).to_have_attribute("aria-label", re.compile(r"10:00, available"))
    expect(target).to_be_focused()
    assert in_cell & offered_starts(page, doctor_id, day, tz)
    assert dash_failures == []


def test_booked_cells_name_the_patient_on_keyboard_focus_and_past_cells_do_nothing(page: Page, login, clinic):
    open_portal(page, login, clinic)
    day = clinic["tomorrow"]
    cell(page, day, "14:30").focus()
    page.keyboard.press("ArrowDown")  # the grid's arrow keys
    booked = cell(page, day, "15:00")
    expect(booked).to_be_focused()
    expect(booked).to_have_attribute("aria-label", re.compile(rf"15:00, booked by {PATIENT_NAME} \(confirmed\)"))
    expect(booked.locator(".dk-cal-tip")).to_be_visible()
    expect(booked.locator(".dk-cal-tip")).to_have_text(f"{PATIENT_NAME} · confirmed")
    expect(page.locator('#doctor-cal-table [tabindex="0"]')).to_have_count(1)  # one tab stop for the grid

    past = page.locator('#doctor-cal-table [aria-label*=", past,"]').first
    label = past.get_attribute("aria-label")
    calls = []
    page.on("request", lambda r: DASH_UPDATE in r.url and "doctor-cal-press" in (r.post_data or "") and calls.append(r))
    expect(past).to_be_disabled()  # aria-disabled: Playwright would not even click it
    past.click(force=True)
    page.wait_for_timeout(300)
    expect(past).to_have_attribute("aria-label", label)
    assert calls == []


def test_offline_hides_every_slot_and_online_brings_them_back(page: Page, login, clinic):
    open_portal(page, login, clinic)
    day, tz, doctor_id = clinic["tomorrow"], clinic["tz"], clinic["doctor_id"]
    switch = page.get_by_role("checkbox", name="Online")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.locator("#doctor-online-status")).to_contain_text("Offline")
    expect(page.locator("#doctor-offline-note")).to_be_visible()
    assert offered_starts(page, doctor_id, day, tz) == set()
    switch.click()
    expect(page.locator("#doctor-online-status")).to_contain_text("Online")
    assert offered_starts(page, doctor_id, day, tz)


def test_join_live_pulses_in_the_window_and_links_to_the_visit(page: Page, login, clinic):
    open_portal(page, login, clinic)
    join = page.get_by_role("link", name=re.compile(f"Join live: consultation with {PATIENT_NAME}"))
    expect(join).to_be_visible()
    expect(join).to_have_attribute("href", re.compile(r"^/visit/[0-9a-f-]{36}$"))
    expect(join).to_have_class(re.compile("is-live"))


def test_axe_finds_nothing_on_the_views_and_the_dialogs(page: Page, login, clinic):
    open_portal(page, login, clinic)
    title = page.locator("#doctor-cal-title")
    assert_no_axe_violations(page)  # Week

    # Issue 24: hatched cells say why patients are not offered them (tomorrow is in this grid), and
    # the legend explains them
    expect(page.locator('#doctor-cal-table [aria-label*="not offered to patients: "]').first).to_be_attached()
    expect(page.locator("#doctor-cal-rhythm")).to_contain_text("one start every 45 minutes")
    expect(page.locator(".dk-cal-legend")).to_contain_text("Hatched: open, but patients can't book a start in it")

    page.get_by_role("radio", name="Day").check()
    expect(title).to_have_text(re.compile(r"^\w+day \d+ \w+ \d{4}$"))
    expect(page.locator("#doctor-cal-table.dk-cal--day")).to_be_visible()
    assert_no_axe_violations(page)

    page.get_by_role("radio", name="Month").check()
    expect(page.locator("#doctor-cal-table.dk-cal--month")).to_be_visible()
    assert_no_axe_violations(page)

    day = clinic["tomorrow"]
    # The Month count is the patient's list of that day (one rule for both)
    count = len(offered_starts(page, clinic["doctor_id"], day, clinic["tz"]))
    expect(page.locator(f'[data-open-day="{day.isoformat()}"] .dk-cal-count--open')).to_have_text(f"{count} bookable")
    page.locator(f'[data-open-day="{day.isoformat()}"]').click()  # a Month day opens its Day view
    expect(title).to_have_text(f"{day_label(day)} {day.year}")
    expect(page.get_by_role("radio", name="Day")).to_be_checked()

    page.get_by_role("button", name=re.compile("^Cancel: consultation")).first.click()
    expect(page.get_by_role("dialog")).to_contain_text("gets")
    assert_dialog_clean(page)
    page.get_by_role("button", name="Keep the consultation").click()
    expect(page.locator(".modal")).to_have_count(0)

    page.get_by_role("button", name="Patient records").click()
    page.get_by_role("button", name=f"Open the record of {PATIENT_NAME}").click()
    expect(page.get_by_role("dialog")).to_contain_text("This view was recorded in the audit trail.")
    assert_dialog_clean(page)
    page.keyboard.press("Escape")
    expect(page.locator(".modal")).to_have_count(0)

    page.get_by_role("button", name=re.compile("^Messages")).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_dialog_clean(page)
    page.keyboard.press("Escape")
    expect(page.locator(".modal")).to_have_count(0)

    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_label("Time zone")).to_have_value(str(clinic["tz"].key))
    assert_dialog_clean(page)


def test_a_patient_writes_to_their_doctor_from_the_dashboard(page: Page, login):
    login("patient@demo.doktu.eu")
    page.get_by_role("navigation", name="My space").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    page.get_by_label(re.compile("^Your message to")).fill("Can I send you my test results?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("list", name=re.compile("^Messages with")).get_by_role("listitem").last).to_contain_text(
        "Can I send you my test results?")
    assert_no_axe_violations(page)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_on_a_phone_the_grid_scrolls_in_its_own_box_never_the_page(page: Page, login, clinic, base_url, language):
    """375 px (issue 22): the Week grid is wider than the phone, so it scrolls sideways inside its own
    box — a named region keyboard users can focus and scroll, the time column staying at its left
    edge — and the page itself never does, in French either (its "‹ Précédent · Aujourd'hui ·
    Suivant ›" made the page 422 px wide)."""
    page.set_viewport_size({"width": 375, "height": 812})
    open_portal(page, login, clinic)
    if language != "en":
        page.context.add_cookies([{"name": "doktu_lang", "value": language, "url": base_url}])
        page.goto("/doctor/")
        expect(page.locator("html")).to_have_attribute("lang", language)
    box = page.locator("#doctor-cal-grid")
    expect(box).to_have_attribute("role", "region")
    expect(box).to_have_attribute("tabindex", "0")
    expect(box).to_have_attribute("aria-labelledby", "doctor-cal-title")
    for view in ("week", "day", "month"):
        page.locator(f'#doctor-cal-view input[value="{view}"]').check()
        expect(page.locator(f"#doctor-cal-table.dk-cal--{view}")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, view
        if view == "week":
            assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # wider than the phone: it scrolls
            box.evaluate("b => { b.scrollLeft = 0; }")
            box.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("() => document.getElementById('doctor-cal-grid').scrollLeft > 0")
            time_cell = page.locator("#doctor-cal-table tbody th").first.bounding_box()
            assert abs(time_cell["x"] - box.bounding_box()["x"]) <= 2  # the time column is sticky
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert_no_axe_violations(page)
