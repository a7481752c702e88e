"""End-to-end journeys across the portals (issue 10), each as a real user in Chromium against
`doktu serve` on a fresh seeded database: a guest books, pays, tests their devices and reaches the
join page; a doctor's calendar change is what patients see next."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

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

    page.goto(f"/visit/{appointment}")  # booked at least an hour ahead: the room is not open yet
    expect(page.get_by_role("alert")).to_contain_text("5 minutes before")
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
        "(els, soon) => els.filter(e => e.dataset.start > soon).map(e => e.id)", soon)
    if not candidates:  # late in the week: next week's grid
        page.get_by_role("button", name="Next ›").click()
        candidates = page.locator('#doctor-cal-table [data-state="available"]').evaluate_all(
            "els => els.map(e => e.id)")
    cell = page.locator(f"#{candidates[2]}")
    start = datetime.fromisoformat(cell.get_attribute("data-start")).astimezone(ZoneInfo("UTC"))
    hhmm = re.search(r", (\d\d:\d\d), available", cell.get_attribute("aria-label")).group(1)
    profile = page.evaluate("""async () => {
        const me = await (await fetch('/api/doctor/me')).json(); return '/doctors/' + me.id; }""")
    assert start.isoformat() in _offered_on_profile(browser, base_url, profile, start.date())

    cell.click()
    expect(cell).to_have_attribute("aria-label", re.compile(rf"{hhmm}, unavailable — press to turn on"))
    assert start.isoformat() not in _offered_on_profile(browser, base_url, profile, start.date())
    cell.click()
    expect(cell).to_have_attribute("aria-label", re.compile(rf"{hhmm}, available — press to turn off"))
    assert start.isoformat() in _offered_on_profile(browser, base_url, profile, start.date())
