"""Issue 24 in a real Chromium: one visual system for the public site and both Dash portals, the
portals' header folding behind "Menu" on a phone, the booking card on a phone, the local test
checkout's card form."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD, assert_no_axe_violations

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
PORTALS = [("/doctor/", "doctor1@demo.doktu.eu", "Upcoming consultations"),
           ("/admin/", "admin@demo.doktu.eu", "Overview")]


def sign_in(page: Page, email: str, landing: str, heading: str) -> None:
    page.goto(f"/login?next={landing}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(landing) + "$"))
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def style(page: Page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(f"el => getComputedStyle(el).{prop}")


@pytest.mark.parametrize(("landing", "email", "heading"), PORTALS)
def test_on_a_phone_the_portal_header_is_one_line_and_folds_behind_menu(page: Page, landing, email, heading):
    page.set_viewport_size(PHONE)
    sign_in(page, email, landing, heading)
    header = page.get_by_role("banner")
    box = header.bounding_box()
    assert box is not None and box["height"] <= 72, f"the header takes {box} on a phone"
    sign_out = header.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_hidden()
    sidebar = page.locator("#admin-sidebar")
    if landing == "/admin/":  # the console opens on its overview, not on a page of links
        expect(sidebar).to_be_hidden()
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_in_viewport()
    toggle = header.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sign_out).to_be_visible()
    if landing == "/admin/":
        expect(sidebar).to_be_visible()
    assert_no_axe_violations(page)
    page.keyboard.press("Escape")  # closes, and the focus is back on the button
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(sign_out).to_be_hidden()

    if landing == "/admin/":  # choosing a section closes the menu and shows the section
        toggle.click()
        sidebar.get_by_role("link", name="Payments").click()
        expect(page.get_by_role("heading", name="Payments", level=1)).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(sidebar).to_be_hidden()


@pytest.mark.parametrize(("landing", "email", "heading"), PORTALS)
def test_on_a_wide_screen_the_header_shows_everything_and_no_menu_button(page: Page, landing, email, heading):
    sign_in(page, email, landing, heading)
    header = page.get_by_role("banner")
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    expect(header.get_by_role("button", name="Menu")).to_be_hidden()
    box = header.bounding_box()
    assert box is not None and box["height"] <= 72
    if landing == "/admin/":
        expect(page.locator("#admin-sidebar")).to_be_visible()


def test_portals_and_public_pages_share_headings_buttons_and_the_focus_ring(page: Page):
    page.goto("/pricing")
    public = {"heading": style(page, "main h1", "fontWeight"), "button": style(page, "main .dk-btn", "fontWeight")}
    page.get_by_role("link", name="Doctors", exact=True).focus()
    public_ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                                "return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }")
    assert public == {"heading": "700", "button": "600"} and public_ring[:2] == ["solid", "3px"]

    sign_in(page, "doctor1@demo.doktu.eu", "/doctor/", "Upcoming consultations")
    assert style(page, "main h1", "fontWeight") == public["heading"]
    assert style(page, "main h2", "fontWeight") == public["heading"]
    assert style(page, "#doctor-messages-open", "fontWeight") == public["button"]
    # The switches: by keyboard, the same 3 px ring as everywhere, not Bootstrap's faint halo.
    switch = page.get_by_role("switch", name=re.compile("^Online")).or_(
        page.get_by_role("checkbox", name=re.compile("^Online"))).first
    switch.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(switch).to_be_focused()
    ring = switch.evaluate("el => { const s = getComputedStyle(el); "
                           "return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]; }")
    assert ring[:3] == public_ring and ring[3] == "none", ring


def test_on_a_phone_the_booking_card_has_44_px_day_tiles_and_round_avatars(page: Page):
    page.set_viewport_size(PHONE)
    page.goto("/doctors")
    avatars = page.locator(".dk-doctor .dk-avatar")
    expect(avatars.first).to_be_visible()
    for box in (avatars.nth(i).bounding_box() for i in range(min(4, avatars.count()))):
        assert box is not None and abs(box["width"] - box["height"]) < 1, f"an oval avatar: {box}"
    name = page.locator(".dk-doctor__name").first
    line = float(name.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)"))
    assert name.bounding_box()["height"] <= 2 * line + 1, "a doctor's name takes more than two lines"

    page.locator(".dk-doctor__name a").first.click()
    tiles = page.locator("#booking .dk-day")
    expect(tiles).to_have_count(7)
    for i in range(7):
        box = tiles.nth(i).bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, f"day tile {i}: {box}"
    today = page.locator('#booking .dk-day .dk-day__name').filter(has_text="Today")
    expect(today).to_have_count(1)
    assert today.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), '"Today" is clipped'
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_no_axe_violations(page)


def test_the_test_checkout_takes_1230_and_keeps_what_was_typed(page: Page):
    page.set_viewport_size(PHONE)
    page.goto("/doctors")
    page.locator(".dk-doctor__name a").nth(3).click()
    page.locator("#booking .dk-pills:not(.dk-pills--scroll) .dk-pill").last.click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Full name").fill("Card Typist")
    page.get_by_label("Email").fill(f"card-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.get_by_label("Password", exact=True).fill("Vivid-otter-harbour-42")
    page.locator("#accept_terms").check()
    page.get_by_role("button", name="Create account").click()
    page.get_by_label("Date of birth").fill("1988-04-12")
    page.get_by_label("Prefer not to say").check()
    page.get_by_role("button", name=re.compile("^Save and pay")).click()
    expect(page).to_have_url(re.compile(r"/pay/cs_local_"))

    form = page.locator("form.dk-card-form")
    heading = page.get_by_role("heading", level=1)
    assert abs(form.bounding_box()["x"] - heading.bounding_box()["x"]) < 1, "the form sits apart from its heading"
    assert form.bounding_box()["width"] >= page.locator(".dk-book").bounding_box()["width"] - 1

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("11/20")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the card details below.")
    expiry = page.get_by_label("Expiry date (MM/YY)")
    expect(expiry).to_have_attribute("aria-invalid", "true")
    expect(expiry).to_have_accessible_description("This expiry date is in the past.")
    expect(page.get_by_label("Card number")).to_have_value("4242 4242 4242 4242")  # nothing wiped
    expect(page.get_by_label("Security code (CVC)")).to_have_value("123")
    assert_no_axe_violations(page)

    expiry.fill("1230")  # the way many people type it
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    expect(page.get_by_role("heading", name="Your consultation is booked")).to_be_visible()


def test_doctor_filters_apply_on_change_without_a_reload(page: Page):
    page.goto("/doctors")
    count = page.get_by_role("status").filter(has_text="found")
    expect(count).to_have_text(re.compile(r"^\d+ doctors found"))
    before = count.inner_text()
    page.evaluate("() => { window.samePage = true; }")
    specialty = page.get_by_label("Specialty")
    specialty.focus()  # as a keyboard user choosing with the arrow keys
    specialty.select_option("Cardiology")
    expect(count).to_have_text("1 doctor found")  # no click on Search
    expect(page).to_have_url(re.compile(r"/doctors\?specialty=Cardiology$"))
    assert page.evaluate("() => window.samePage === true"), "the page reloaded"
    expect(specialty).to_be_focused()
    expect(page.locator(".dk-doctor")).to_have_count(1)
    expect(page.get_by_role("link", name="Clear filters")).to_be_visible()
    specialty.select_option("")
    expect(count).to_have_text(before)
    expect(page.get_by_role("button", name="Search")).to_be_visible()  # kept, for the name and without scripts
    assert_no_axe_violations(page)


def test_every_pricing_card_has_its_call_to_action_on_one_line(page: Page):
    page.goto("/pricing")
    cards = page.locator(".dk-pricing > .dk-plan")
    expect(cards).to_have_count(3)
    tops = []
    for i in range(3):
        action = cards.nth(i).locator(".dk-plan__action .dk-btn")
        expect(action).to_be_visible()
        tops.append(action.bounding_box()["y"])
    assert max(tops) - min(tops) <= 1.5, f"the calls to action are not aligned: {tops}"  # the featured card: a 2 px border
    expect(cards.first.get_by_role("link", name="Find a doctor")).to_have_attribute("href", "/doctors")


def test_on_a_phone_the_patient_tabs_are_one_row(page: Page):
    page.set_viewport_size(PHONE)
    sign_in(page, "patient@demo.doktu.eu", "/dashboard", "Hello Paula Patient")
    tabs = page.locator(".dk-tabs li")
    expect(tabs.first).to_be_visible()
    rows = {round(tabs.nth(i).bounding_box()["y"]) for i in range(tabs.count())}
    assert len(rows) == 1, f"the tabs take {len(rows)} rows"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="Settings").first.click()
    expect(page.locator('.dk-tabs [aria-current="page"]')).to_be_in_viewport()


PHONE_PAGES = {
    "patient@demo.doktu.eu": ["/dashboard", "/dashboard/messages", "/dashboard/documents", "/account", "/doctors",
                              "/now"],
    "admin@demo.doktu.eu": ["/admin/overview", "/admin/appointments", "/admin/doctors", "/admin/patients",
                            "/admin/payments", "/admin/alerts", "/admin/reviews", "/admin/inbox", "/admin/exports"],
}


@pytest.mark.parametrize("email", list(PHONE_PAGES))
def test_on_a_phone_no_page_scrolls_sideways(page: Page, email: str):
    """375 px: nothing wider than the screen on the patient's pages and the console's sections (the
    appointments table's visually hidden "Actions" text used to escape its scrolling box: 614 px)."""
    page.set_viewport_size(PHONE)
    paths = PHONE_PAGES[email]
    page.goto(f"/login?next={paths[0]}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(paths[0]) + "$"))
    for path in paths:
        page.goto(path)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        if path.startswith("/admin/"):
            expect(page.locator("#admin-section-title")).not_to_be_empty()
            page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        assert_no_axe_violations(page)
