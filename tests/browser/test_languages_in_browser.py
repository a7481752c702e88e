"""Languages in Chromium (SPEC §20): the public pages have no axe violation in French, English and
German; the language switch works by keyboard alone, with and without JavaScript; a French browser
gets French pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DEMO_PASSWORD, assert_no_axe_violations

pytestmark = pytest.mark.browser

PAGES = ["/", "/doctors", "/how-it-works", "/pricing", "/blog", "/legal/terms", "/login", "/signup", "/contact"]


@pytest.mark.parametrize("language", ["fr", "de", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_public_pages_have_no_axe_violation_in_each_language(page: Page, path: str, language: str):
    page.context.add_cookies([{"name": "doktu_lang", "value": language, "url": page.url if page.url.startswith("http")
                               else _base(page)}])
    response = page.goto(path)
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_axe_violations(page)


def _base(page: Page) -> str:
    page.goto("/healthz")
    return page.url.rsplit("/healthz", 1)[0]


def test_the_switch_by_keyboard_applies_at_once(page: Page):
    page.goto("/pricing")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switch = page.locator("#dk-lang-header")
    for _ in range(40):  # Tab from the top of the page until the switch has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "dk-lang-header":
            break
    expect(switch).to_be_focused()
    expect(page.get_by_role("combobox", name="Language")).to_have_value("en")
    with page.expect_navigation():
        page.keyboard.press("ArrowDown")  # English → Français: applied on change, no button needed
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.url.endswith("/pricing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tarifs")
    expect(page.get_by_role("combobox", name="Langue").first).to_have_value("fr")
    assert_no_axe_violations(page)


def test_the_switch_without_javascript_has_its_button(browser: Browser, base_url: str):
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    try:
        page.goto("/how-it-works")
        page.locator("#dk-lang-header").focus()
        page.locator("#dk-lang-header").select_option("de")
        button = page.locator(".dk-lang--header").get_by_role("button", name="Change language")
        expect(button).to_be_visible()
        button.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_role("heading", level=1)).to_have_text("So funktioniert Doktu")
    finally:
        context.close()


def test_on_a_phone_the_switch_is_in_the_footer(page: Page):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/")
    footer_switch = page.locator("#dk-lang-footer")
    expect(footer_switch).to_be_visible()
    with page.expect_navigation():
        footer_switch.select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")


def test_a_french_browser_gets_french_pages_and_dates(browser: Browser, base_url: str):
    context = browser.new_context(locale="fr-FR", base_url=base_url)
    page = context.new_page()
    try:
        page.goto("/doctors")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_role("heading", level=1)).to_have_text("Trouver un médecin")
        expect(page.get_by_label("Disponible le")).to_have_attribute("lang", "fr")
        languages = page.locator("#language option").all_inner_texts()
        assert "Toutes les langues" in languages and not any(t.isupper() and len(t) == 2 for t in languages)
    finally:
        context.close()


def test_the_portal_header_switch_applies_at_once_and_keeps_the_header_on_one_line(page: Page):
    """The doctor portal's header carries the same switch (SPEC §20): a Dash page runs only with
    scripts, so the choice applies on change and the button stays hidden (issue 24: one line)."""
    page.goto("/login?next=/doctor/")
    page.get_by_label("Email").fill("doctor1@demo.doktu.eu")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Upcoming consultations", level=1)).to_be_visible()
    header = page.get_by_role("banner")
    switch = header.get_by_role("combobox", name="Language")
    expect(switch).to_have_value("en")
    expect(header.get_by_role("button", name="Change language")).to_be_hidden()
    try:
        with page.expect_navigation():
            switch.select_option("fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        assert page.url.endswith("/doctor/")
        expect(page.get_by_role("banner").get_by_role("combobox", name="Langue")).to_have_value("fr")
    finally:  # the choice is saved on the account: give the demo doctor back English
        with page.expect_navigation():
            page.get_by_role("banner").locator("[data-dk-lang-select]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
