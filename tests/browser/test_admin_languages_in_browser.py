"""The founders' console in French in Chromium (issue 18, SPEC §20): `<html lang="fr">`, every
section in French — no line of the page is an English catalog message — and axe finds nothing.
The admin chose nothing (`users.locale` stays NULL), so the `doktu_lang` cookie decides; the demo
admin is left as it was for the other tests."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from core import i18n
from portals.admin.dash_app import SECTIONS

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.doktu.eu"
AXE = Axe()


def english_lines(language: str) -> set[str]:
    """English messages whose translation differs: a page line equal to one is a leftover."""
    with (i18n.CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    return {m.id for m in catalog if isinstance(m.id, str) and m.id and "%(" not in m.id
            and m.string and m.string != m.id}


def test_the_console_in_french_has_no_english_left_and_passes_axe(page: Page, login, dash_failures, base_url):
    login(ADMIN)  # the sign-in form in English, then the cookie: French from the next page on
    page.context.add_cookies([{"name": "doktu_lang", "value": "fr", "url": base_url}])
    page.goto("/admin/")
    fr = lambda text: i18n.translate("fr", text)  # noqa: E731
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_title(fr("Doktu — Admin console"))
    expect(page.locator("#admin-section-title")).to_have_text(fr("Overview"))
    english = english_lines("fr")
    sidebar = page.get_by_role("navigation", name=fr("Admin sections"))
    for key, label in SECTIONS:
        # The current section's link also says so in hidden text: its name starts with the label.
        sidebar.get_by_role("link", name=re.compile("^" + re.escape(fr(label)))).click()
        expect(page.locator("#admin-section-title")).to_have_text(fr(label))
        expect(page.get_by_text(fr("Loading…"))).to_have_count(0)
        page.wait_for_load_state("networkidle")
        lines = {line.strip() for line in page.locator("#main").inner_text().splitlines() if line.strip()}
        assert sorted(lines & english) == [], key
        results = AXE.run(page)
        assert results.violations_count == 0, f"{key}\n{results.generate_report()}"
    # Figures in French formats: the period says its days the French way.
    expect(page.locator("#admin-period")).to_contain_text("heure de Paris")
    assert dash_failures == []
