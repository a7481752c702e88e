"""End-to-end journeys across the portals (issue 10), each as a real user in Chromium against
`doktu serve` on a fresh seeded database: a guest books, pays, tests their devices and reaches the
join page; a doctor's calendar change is what patients see next; the admin's tiles count a new
booking."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from tests import resources
from tests.live_browser import assert_no_axe_violations

pytestmark = pytest.mark.browser
PASSWORD = "Quiet-Harbour-47-Lanterns!"
WIZARD_TIMEOUT = 25_000


def test_a_guest_books_pays_tests_devices_and_reaches_the_join_page(page: Page):
    page.goto("/")
    page.locator(".dk-doctor__name a").nth(8).click()  # doctor 9: the other journeys book elsewhere
    expect(page.locator("[data-dk-booking]")).to_be_visible()
    page.locator("[data-dk-day]:not(.dk-day--empty)").nth(3).click()
    expect(page.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    page.locator("[data-dk-slots] .dk-pill").first.click()
    expect(page).to_have_url(re.compile(r"/book/"))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Full name").fill("Erin Endtoend")
    page.get_by_label("Email").fill(f"e2e-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    appointment = page.url.rsplit("/", 1)[1]
    page.get_by_label("Date of birth").fill("1991-09-30")
    page.get_by_label("Female").check()
    page.get_by_role("button", name="Save and pay €35 by card").click()
    expect(page).to_have_url(re.compile(r"/pay/cs_local_"))
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay €35").click()
    expect(page.get_by_role("heading", name="Your consultation is booked")).to_be_visible()

    page.get_by_role("link", name="Go to my appointments").click()
    card = page.locator(".dk-appointment").filter(has=page.locator(f'[href*="{appointment}"]')).first
    expect(card).to_contain_text("Confirmed")
    assert_no_axe_violations(page)
    card.get_by_role("link", name=re.compile("^Test devices for the consultation of ")).click()
    dialog = page.get_by_role("dialog", name="Device test")
    dialog.get_by_role("button", name="Start the test").click()
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^All checks passed"), timeout=WIZARD_TIMEOUT)
    page.keyboard.press("Escape")

    page.goto(f"/visit/{appointment}")  # booked at least an hour ahead: the waiting room, no error
    expect(page.get_by_role("region", name="Waiting room")).to_be_visible()
    expect(page.locator("[data-room-countdown]")).to_have_text(re.compile(r"^The room opens in \d+:\d\d:\d\d\.$"))
    expect(page.locator("[data-room-readiness]")).to_have_text("Your devices are ready.")
    assert_no_axe_violations(page)


def _offered_on_profile(browser: Browser, base_url: str, profile: str, day: date) -> set[str]:
    """The starts a guest is offered on the doctor's profile for `day` (UTC ISO, as in the forms)."""
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    guest = context.new_page()
    guest.goto(f"{profile}?day={day.isoformat()}")
    starts = set(guest.locator("[data-dk-slots] input[name=start]").evaluate_all("els => els.map(e => e.value)"))
    context.close()
    return starts


def test_a_doctor_turns_a_time_off_and_patients_stop_seeing_it(page: Page, browser: Browser, base_url, login):
    login("doctor7@demo.doktu.eu", next_path="/doctor/")
    expect(page.locator("#doctor-cal-table")).to_be_visible()
    # A time patients can book: available in this week's grid, at least a day ahead.
    soon = (datetime.now(ZoneInfo("UTC")) + timedelta(days=1)).isoformat()
    candidates = page.locator('#doctor-cal-table [data-state="available"]').evaluate_all(
        "(els, soon) => els.filter(e => e.dataset.start > soon).map(e => e.dataset.rc)", soon)
    if not candidates:  # late in the week: next week's grid
        key = page.locator("#doctor-cal-table").get_attribute("data-key")
        page.get_by_role("button", name="Next ›").click()
        expect(page.locator("#doctor-cal-table")).not_to_have_attribute("data-key", key)
        candidates = page.locator('#doctor-cal-table [data-state="available"]').evaluate_all(
            "els => els.map(e => e.dataset.rc)")
    profile = page.evaluate("""async () => {
        const me = await (await fetch('/api/doctor/me')).json(); return '/doctors/' + me.id; }""")
    # A cell whose start patients are offered (the day's 45-minute rhythm puts some cells between two).
    cell, start, offered = None, None, {}
    for rc in candidates[2:]:
        cell = page.locator(f'#doctor-cal-table [data-rc="{rc}"]')
        start = datetime.fromisoformat(cell.get_attribute("data-start")).astimezone(ZoneInfo("UTC"))
        if start.date() not in offered:
            offered[start.date()] = _offered_on_profile(browser, base_url, profile, start.date())
        if start.isoformat() in offered[start.date()]:
            break
    assert start is not None and start.isoformat() in offered[start.date()]
    hhmm = re.search(r", (\d\d:\d\d), available", cell.get_attribute("aria-label")).group(1)

    cell.click()
    expect(cell).to_have_attribute("aria-label", re.compile(rf"{hhmm}, unavailable — press to turn on"))
    assert start.isoformat() not in _offered_on_profile(browser, base_url, profile, start.date())
    cell.click()
    expect(cell).to_have_attribute("aria-label", re.compile(rf"{hhmm}, available — press to turn off"))
    assert start.isoformat() in _offered_on_profile(browser, base_url, profile, start.date())


def _booked_today(page: Page) -> int:
    page.goto("/admin/")
    expect(page.locator("#admin-section-title")).to_have_text("Overview")
    button = page.get_by_role("group", name="Period").get_by_role("button", name="Today")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    value = page.locator('[data-kpi="booked"] .admin-tile__value')
    expect(value).to_have_text(re.compile(r"^\d+$"))
    return int(value.inner_text())


def _forget_metric_snapshots() -> None:
    """The console shares 60-second snapshots of its figures: stand for the minute passing."""
    client = redis.Redis.from_url(resources.redis_url())
    for key in client.scan_iter("doktu:metrics:*"):
        client.delete(key)


def _clear_of_a_paris_midnight(margin: timedelta = timedelta(minutes=3)) -> None:
    """The console's "Today" is a Europe/Paris day (SPEC §9): a run that starts just before
    midnight there waits for the new day, so "before" and "after" count the same day (CI at
    23:00 UTC counted the new day's bookings after the old day's)."""
    from core.metrics.periods import PARIS

    now = datetime.now(PARIS)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), PARIS)
    if midnight - now < margin:
        time.sleep((midnight - now).total_seconds() + 1)


def test_the_admin_tiles_count_a_new_booking(page: Page, browser: Browser, base_url, login):
    _clear_of_a_paris_midnight()
    login("admin@demo.doktu.eu", next_path="/admin/")
    _forget_metric_snapshots()
    before = _booked_today(page)

    context = browser.new_context(base_url=base_url)
    patient = context.new_page()
    patient.goto("/signup")
    patient.get_by_label("Full name").fill("Kim Kpi")
    patient.get_by_label("Email").fill(f"kpi-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    patient.get_by_label("Password", exact=True).fill(PASSWORD)
    patient.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    patient.get_by_role("button", name="Create account").click()
    patient.get_by_label("Date of birth").fill("1979-01-20")
    patient.get_by_label("Male", exact=True).check()
    patient.get_by_role("button", name="Save my profile").click()
    patient.goto("/")
    patient.locator(".dk-doctor__name a").nth(5).click()
    patient.locator("[data-dk-day]:not(.dk-day--empty)").nth(4).click()
    expect(patient.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    patient.locator("[data-dk-slots] .dk-pill").first.click()
    patient.get_by_role("button", name="Pay €35 by card").click()
    patient.get_by_label("Card number").fill("4242 4242 4242 4242")
    patient.get_by_label("Expiry date (MM/YY)").fill("12/34")
    patient.get_by_label("Security code (CVC)").fill("123")
    patient.get_by_role("button", name="Pay €35").click()
    expect(patient.get_by_role("heading", name="Your consultation is booked")).to_be_visible()
    context.close()

    _forget_metric_snapshots()
    assert _booked_today(page) == before + 1
    assert_no_axe_violations(page)
