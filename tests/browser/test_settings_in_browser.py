"""The Settings tab in Chromium (SPEC §9; WCAG 2.1 AA): axe finds nothing on the settings page (also
with a refused form) nor on the delete confirmation and goodbye pages; a patient changes the time
zone by keyboard and sees their appointment on /dashboard, and the booking card's times, in that
zone. Each test signs up its own patient: the shared demo patient stays as it is for the other
browser tests."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_axe_violations as assert_no_violations

pytestmark = pytest.mark.browser
PASSWORD = "Quiet-Harbour-47-Lanterns!"

# Holds a free time of one doctor through the public API, as the booking card does; returns its start.
HOLD_A_TIME = """async () => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const listed = await (await fetch('/api/doctors')).json();
  const doctors = Array.isArray(listed) ? listed : listed.doctors;
  for (const doctor of doctors.slice().reverse()) {
    const found = await (await fetch(`/api/doctors/${doctor.id}/unified-availability`)).json();
    const free = found.slots.filter(s => s.isAvailable).reverse();
    for (const slot of free) {
      const r = await fetch('/api/appointments/create-pending', {method: 'POST', headers: {
        'Content-Type': 'application/json', 'X-CSRFToken': csrf},
        body: JSON.stringify({doctorId: doctor.id, start: slot.start})});
      if (r.status === 201) { return slot.start; }
    }
  }
  return null;
}"""




def sign_up(page: Page) -> str:
    email = f"settings-{uuid.uuid4().hex[:10]}@tests.doktu.eu"
    page.goto("/signup")
    page.get_by_label("Full name").fill("Sam Settings")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/onboarding"))
    return email


def tab_to(page: Page, predicate_js: str, limit: int = 120, key: str = "Tab") -> None:
    """Press Tab (or `key`) until the focused element satisfies `predicate_js` (a JS expression over `el`)."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate_js}); }})()"):
            return
    raise AssertionError(f"never reached by Tab: {predicate_js}")


def test_settings_pages_have_no_axe_violations(page: Page):
    sign_up(page)
    page.goto("/dashboard/settings")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    assert_no_violations(page)

    # A refused form: the message under its field, the field invalid, described by it and focused.
    page.get_by_label("By SMS").check()
    page.get_by_role("button", name="Save reminders").click()
    phone = page.get_by_label("Mobile number")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_be_focused()
    expect(page.locator("#notifications-phone-error")).to_have_text("Enter your mobile number to get SMS reminders.")
    assert "notifications-phone-error" in phone.get_attribute("aria-describedby")
    assert_no_violations(page)

    # Saved: the message in its own section takes the focus.
    phone.fill("+44 20 7946 0958")
    page.get_by_role("button", name="Save reminders").click()
    expect(page).to_have_url(re.compile(r"/dashboard/settings#notifications-status$"))
    expect(page.locator("#notifications-status")).to_have_text("Your reminder settings are saved.")
    expect(page.locator("#notifications-status")).to_be_focused()
    assert_no_violations(page)

    # Every button and field is at least 44 px high (a comfortable target).
    small = page.evaluate("""() => [...document.querySelectorAll(
        '.dk-settings button, .dk-settings .dk-btn, .dk-settings input:not([type=hidden]):not([type=checkbox]),'
        + ' .dk-settings select, .dk-settings .dk-choice')]
        .filter(el => el.getBoundingClientRect().height < 44).map(el => el.outerHTML.slice(0, 80))""")
    assert small == []

    page.get_by_role("link", name="Delete my account…").click()
    expect(page).to_have_url(re.compile(r"/dashboard/settings/delete$"))
    expect(page.get_by_role("heading", name="Delete your account", level=1)).to_be_visible()
    assert_no_violations(page)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Type DELETE to confirm").fill("delete")
    page.get_by_role("button", name="Delete my account permanently").click()
    expect(page.get_by_label("Type DELETE to confirm")).to_have_attribute("aria-invalid", "true")
    assert_no_violations(page)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Type DELETE to confirm").fill("DELETE")
    page.get_by_role("button", name="Delete my account permanently").click()
    expect(page).to_have_url(re.compile(r"/account/deleted$"))
    expect(page.get_by_role("heading", name="Your account is deleted")).to_be_visible()
    assert_no_violations(page)
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_time_zone_changes_by_keyboard_and_the_dashboard_follows(page: Page):
    sign_up(page)
    start = page.evaluate(HOLD_A_TIME)
    assert start, "no free time to hold"
    page.goto("/dashboard/settings")
    tab_to(page, "el.id === 'timezone-timezone'")
    page.keyboard.type("Asia/Tokyo")  # the list jumps to the option that starts so
    expect(page.locator("#timezone-timezone")).to_have_value("Asia/Tokyo")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save time zone")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#timezone-status")).to_have_text("Your time zone is saved.")
    expect(page.get_by_text("Times are shown in Asia/Tokyo.")).to_be_visible()

    local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Tokyo"))
    shown = f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} (Asia/Tokyo)"
    tab_to(page, "el.getAttribute('href') === '/dashboard'", key="Shift+Tab")  # back up to the tabs
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name=shown)).to_be_visible()

    # site.js re-labels the booking card's times in the saved zone too, not in the browser's.
    page.goto("/")
    page.locator(".dk-doctor__name a").first.click()
    first = page.locator("[data-dk-slots] time[data-dk-time]").first
    when = datetime.fromisoformat(first.get_attribute("datetime").replace("Z", "+00:00"))
    expect(first).to_have_text(when.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M"))
