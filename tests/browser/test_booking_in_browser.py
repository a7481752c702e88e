"""The guest booking journey in Chromium (SPEC §7): profile → time → account → held time at checkout,
by keyboard and by mouse, with the booking card's script and without it; axe on every page of it."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DEMO_PASSWORD
from tests.browser.conftest import assert_no_axe_violations as assert_no_violations

pytestmark = pytest.mark.browser
STRONG_PASSWORD = "Quiet-Harbour-47-Lanterns!"




def first_profile(page: Page) -> str:
    page.goto("/")
    return page.locator(".dk-doctor__name a").first.get_attribute("href")


def tab_to(page: Page, predicate_js: str, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies `predicate_js` (a JS expression over `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate_js}); }})()"):
            return
    raise AssertionError(f"never reached by Tab: {predicate_js}")


def test_a_guest_books_from_the_profile_by_keyboard_only(page: Page):
    profile = first_profile(page)
    page.goto(profile)
    tab_to(page, "el.classList.contains('dk-pill')")
    chosen = page.evaluate("document.activeElement.closest('form').elements.start.value")
    page.keyboard.press("Enter")  # activation 1
    expect(page).to_have_url(re.compile(r"/book/[0-9a-f-]{36}\?start="))
    context = page.evaluate("JSON.parse(sessionStorage.getItem('bookingContext'))")
    assert context["start"] == chosen and context["doctorId"] in profile
    assert 14 * 60_000 < context["expiresAt"] - page.evaluate("Date.now()") <= 15 * 60_000
    tab_to(page, "el.textContent.trim() === 'Create an account'")
    page.keyboard.press("Enter")  # activation 2
    expect(page).to_have_url(re.compile(r"/signup\?next="))
    tab_to(page, "el.id === 'full_name'")
    page.keyboard.type("Keyboard Guest")
    page.keyboard.press("Tab")
    page.keyboard.type(f"kb-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.keyboard.press("Tab")
    page.keyboard.type(STRONG_PASSWORD)
    page.keyboard.press("Tab")  # "Show password"
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the unticked consent checkbox (SPEC §21)
    assert page.evaluate("document.activeElement.id") == "accept_terms"
    tab_to(page, "el.textContent.trim() === 'Create account'")
    page.keyboard.press("Enter")  # the sign-up form
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    expect(page.get_by_text("This time is held for you until")).to_be_visible()
    expect(page.get_by_role("heading", name="Your health profile")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('bookingContext')") is None
    assert_no_violations(page)


def test_a_signed_in_patient_holds_with_one_click_and_days_switch_without_a_reload(page: Page, login):
    login("patient@demo.doktu.eu")
    profile = first_profile(page)
    page.goto(profile)
    page.evaluate("window.__sameDocument = true")
    days = page.locator("[data-dk-day]:not(.dk-day--empty)")
    target = days.nth(2)
    label = target.get_attribute("aria-label")
    target.click()
    expect(target).to_have_attribute("aria-current", "date")
    status = page.locator("[data-dk-booking-status]")
    expect(status).to_contain_text("free time")
    assert label.split(":")[0] in status.text_content()
    assert page.evaluate("window.__sameDocument === true")  # no navigation happened
    expect(page.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    first = page.locator("[data-dk-slots] .dk-pill").first
    first.click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()  # the demo patient is onboarded
    assert_no_violations(page)


def test_a_time_taken_meanwhile_gets_a_message_and_fresh_times(page: Page, browser: Browser, login, base_url):
    login("patient@demo.doktu.eu")
    profile = first_profile(page)
    page.goto(profile)
    # The last day of the strip with free times: the other tests book on the first ones.
    page.locator("[data-dk-day]:not(.dk-day--empty)").last.click()
    expect(page.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    pill = page.locator("[data-dk-slots] .dk-pill").first
    start = pill.locator("xpath=ancestor::form").locator("input[name=start]").input_value()
    # Someone else takes that time first.
    rival_page = browser.new_context(base_url=base_url).new_page()
    email = f"rival-{uuid.uuid4().hex[:8]}@tests.doktu.eu"
    rival_page.goto("/signup")
    rival_page.get_by_label("Full name").fill("Rival Patient")
    rival_page.get_by_label("Email").fill(email)
    rival_page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    rival_page.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    rival_page.get_by_role("button", name="Create account").click()
    taken = rival_page.evaluate("""async ([doctorId, start]) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch('/api/appointments/create-pending', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRFToken': csrf}, body: JSON.stringify({doctorId, start})});
        return r.status; }""", [profile.rsplit("/", 1)[1], start])
    assert taken == 201
    rival_page.context.close()
    pill.click()
    expect(page.locator("[data-dk-booking-error]")).to_have_text(re.compile("that time was just taken"))
    expect(page).to_have_url(re.compile(re.escape(profile) + "$"))
    expect(page.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    starts = page.locator("[data-dk-slots] input[name=start]").evaluate_all("els => els.map(e => e.value)")
    assert start not in starts and starts


def test_without_javascript_the_same_journey_works_with_links_and_forms(browser: Browser, base_url):
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    profile = first_profile(page)
    page.goto(profile)
    page.locator("[data-dk-day]:not(.dk-day--empty)").nth(1).click()  # a plain link
    expect(page).to_have_url(re.compile(r"day=\d{4}-\d{2}-\d{2}"))
    page.locator("[data-dk-slots] .dk-pill").first.click()
    expect(page).to_have_url(re.compile(r"/book/[0-9a-f-]{36}\?start="))
    page.get_by_role("link", name="Log in", exact=True).last.click()
    page.get_by_label("Email").fill("patient@demo.doktu.eu")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    context.close()


@pytest.mark.parametrize("width", [1280, 768, 375])
def test_search_profile_and_book_pages_have_no_axe_violations(page: Page, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    profile = first_profile(page)
    for path in ("/doctors", "/doctors?language=fr&date=2030-01-01", profile):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        assert_no_violations(page)
    page.locator("[data-dk-slots] .dk-pill").first.click()
    expect(page).to_have_url(re.compile(r"/book/"))
    assert_no_violations(page)


def test_mobile_menu_traps_focus_and_closes_on_escape(page: Page):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/")
    toggle = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Doctors"
    for link in nav.get_by_role("link").all():
        assert link.bounding_box()["height"] >= 44
    for _ in range(8):  # focus never leaves the menu and its toggle
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('#dk-menu, [data-dk-menu-toggle]')")
    assert_no_violations(page)
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()


def test_header_gets_its_shadow_after_64px_and_hides_on_the_way_down(page: Page):
    page.set_viewport_size({"width": 1280, "height": 600})
    page.goto("/")
    header = page.locator("[data-dk-header]")
    page.mouse.wheel(0, 40)
    expect(header).not_to_have_class(re.compile("is-scrolled"))
    page.mouse.wheel(0, 600)
    expect(header).to_have_class(re.compile("is-scrolled"))
    expect(header).to_have_class(re.compile("is-hidden"))
    page.mouse.wheel(0, -100)
    expect(header).not_to_have_class(re.compile("is-hidden"))
