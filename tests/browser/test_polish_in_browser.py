"""Issue 24 in a real Chromium: one visual system for the public site and both Dash portals, the
portals' header folding behind "Menu" on a phone, the booking card on a phone, the local test
checkout's card form."""

from __future__ import annotations

import re

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
