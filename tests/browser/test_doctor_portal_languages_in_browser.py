"""The doctor portal in the doctor's language, in Chromium (SPEC §20, issue 18): a doctor whose
browser prefers French gets the portal in French; the header's switch, reached and used with the
keyboard alone, turns it German; axe finds nothing in either."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DEMO_PASSWORD, assert_no_axe_violations

pytestmark = pytest.mark.browser

DOCTOR = "doctor6@demo.doktu.eu"  # no other browser test signs in as this doctor


def _forget_language(live_doktu) -> None:
    """users.locale back to NULL (never chosen): the browser's language decides."""
    engine = sa.create_engine(live_doktu.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE users SET locale = NULL WHERE email = :email"), {"email": DOCTOR})
    finally:
        engine.dispose()


def _tab_to(page: Page, element_id: str, presses: int = 40) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never took the focus from the keyboard")


def test_a_french_doctor_gets_the_portal_in_french_and_switches_to_german_by_keyboard(
        browser: Browser, base_url: str, live_doktu):
    _forget_language(live_doktu)
    context = browser.new_context(locale="fr-FR", base_url=base_url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto("/login?next=/doctor/")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.locator("input[name=email]").fill(DOCTOR)
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        page.locator("input[name=password]").press("Enter")
        expect(page.get_by_role("heading", name="Consultations à venir", level=1)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        assert page.title() == "Doktu — Espace médecin"
        expect(page.get_by_role("button", name="Dossiers patients")).to_be_visible()
        expect(page.get_by_label("Consultations immédiates")).to_be_visible()
        expect(page.get_by_role("link", name="Nous contacter")).to_be_visible()
        assert_no_axe_violations(page)

        # Keyboard only: Tab from the top of the page to the header's switch, then ArrowDown.
        page.locator("body").focus()
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        _tab_to(page, "dk-lang-portal")
        switch = page.get_by_role("banner").get_by_role("combobox", name="Langue")
        expect(switch).to_be_focused()
        expect(switch).to_have_value("fr")
        with page.expect_navigation():
            page.keyboard.press("ArrowDown")  # Français → Deutsch, applied on change
        expect(page.locator("html")).to_have_attribute("lang", "de")
        assert page.url.endswith("/doctor/")
        expect(page.get_by_role("heading", name="Anstehende Sprechstunden", level=1)).to_be_visible()
        expect(page.get_by_role("button", name="Patientenakten")).to_be_visible()
        expect(page.get_by_role("banner").get_by_role("combobox", name="Sprache")).to_have_value("de")
        assert page.title() == "Doktu — Arztportal"
        assert_no_axe_violations(page)
    finally:
        context.close()
        _forget_language(live_doktu)
