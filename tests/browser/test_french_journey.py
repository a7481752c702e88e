"""The whole journey in French (SPEC §20, issue 18): a visitor whose browser sends
`Accept-Language: fr-FR` reads every public page, signs up, books and pays with the test checkout,
then walks through the dashboard, the appointment pages, settings, messages, documents and the
privacy self-service pages. On every page: `<html lang="fr">`, axe finds nothing, and no English is
left over. Then the visitor switches to German from the header, by keyboard alone, and one page is
checked the same way in German.

What counts as an English leftover (`leftovers`): a visible text, or an aria-label / title / alt /
placeholder, that equals an English message of the catalog whose translation differs (messages
with placeholders match as patterns), or that holds one of a few tell-tale English words. Text
that says it is in another language (`lang="en"` on an honest fallback, the language names of the
switch) and what doctors or patients wrote themselves (`data-dk-authored`) are not leftovers.
"""

from __future__ import annotations

import re
import uuid
from functools import cache

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page, expect

from core.i18n import CATALOGS
from tests.browser.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser
PASSWORD = "Quiet-Harbour-47-Lanterns!"

# Words that give English away in a French or German page, chosen because the language does not
# use them (not "date", "message", "minutes", "notes", "consultation", "documents", "menu", "in", "on"
# or "close", which French has too; German says "Download" and "Dashboard" itself).
_ENGLISH_WORDS = (r"the|your|you|please|with|and|booking|book|cancel|settings|password|sign in|sign up|log in|"
                  r"upcoming|appointment|available|loading|search|back|next|previous|save|send|submit|"
                  r"delete|free|here|click|time|times|today|tomorrow|week|month|doctor|doctors|patient's|profile|"
                  r"health|payment|card|pay|paid")
TELL_TALE_OF = {"fr": re.compile(rf"\b({_ENGLISH_WORDS}|download|dashboard)\b", re.I),
                "de": re.compile(rf"\b({_ENGLISH_WORDS})\b", re.I)}
TELL_TALE = TELL_TALE_OF["fr"]
# Proper names that stay in English in every language (a US law's title, a company's name).
PROPER_NAMES = ("Health Insurance Portability and Accountability Act", "Zoom Video Communications")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sdf]")

# Visible text nodes, the text of short elements (a sentence split by a link is one message), the
# attributes a screen reader reads, and the document's title; each with the language it says it is in.
COLLECT = """() => {
  const skip = el => !!el.closest('script, style, noscript, template, [data-dk-authored]');
  const langOf = el => { const l = el.closest('[lang]'); return l ? l.getAttribute('lang') : ''; };
  const seen = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || skip(el) || !node.textContent.trim()) continue;
    if (el.tagName !== 'OPTION' && !el.checkVisibility()) continue;
    seen.push({text: node.textContent, lang: langOf(el), where: el.tagName});
  }
  const blocks = 'p, li, button, a, label, legend, h1, h2, h3, h4, dt, dd, th, td, summary, option, span, strong';
  for (const el of document.body.querySelectorAll(blocks)) {
    if (skip(el) || (el.tagName !== 'OPTION' && !el.checkVisibility())) continue;
    if (el.querySelector('[data-dk-authored]')) continue;  // its own text nodes are checked one by one
    const text = el.innerText || el.textContent;
    if (text && text.trim() && text.length < 400) seen.push({text, lang: langOf(el), where: el.tagName});
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [alt], [placeholder]')) {
    if (skip(el)) continue;
    for (const name of ['aria-label', 'title', 'alt', 'placeholder']) {
      const value = el.getAttribute(name);
      if (value && value.trim()) seen.push({text: value, lang: langOf(el), where: el.tagName + '@' + name});
    }
  }
  for (const part of document.title.split(' — ')) seen.push({text: part, lang: langOf(document.documentElement),
                                                            where: 'title'});
  return seen;
}"""


def _normal(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@cache
def english_messages(language: str) -> tuple[frozenset[str], tuple[re.Pattern, ...]]:
    """The English msgids whose `language` translation differs: plain ones as a set, those with
    placeholders as patterns (only when they keep enough words of their own to mean something)."""
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    plain, patterns = set(), []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings or not any(strings):
                continue
            if PLACEHOLDER.search(msgid):
                literal = PLACEHOLDER.sub("", msgid)
                if len(re.findall(r"[A-Za-z]{2,}", literal)) >= 2 and sum(c.isalpha() for c in literal) >= 6:
                    pieces = [re.escape(_normal(p)) if p.strip() else r"\s*" for p in PLACEHOLDER.split(msgid)]
                    patterns.append(re.compile(r"\s*(.+?)\s*".join(pieces).replace(r"\s*\s*", r"\s*")))
            elif sum(c.isalpha() for c in msgid) >= 2:
                plain.add(_normal(msgid))
    return frozenset(plain), tuple(patterns)


def leftovers(page: Page, language: str) -> list[str]:
    plain, patterns = english_messages(language)
    found = set()
    for item in page.evaluate(COLLECT):
        text, lang = _normal(item["text"]), (item["lang"] or "").split("-")[0].lower()
        if not text or (lang and lang != language):
            continue  # says honestly it is in another language
        if text in plain or any(p.fullmatch(text) for p in patterns):
            found.add(f"{item['where']}: {text!r} (catalog message)")
        elif match := TELL_TALE_OF[language].search(re.sub("|".join(map(re.escape, PROPER_NAMES)), "", text)):
            found.add(f"{item['where']}: {text!r} (English word {match.group(0)!r})")
    return sorted(found)


def check(page: Page, language: str = "fr") -> None:
    """`<html lang>`, axe 0 and no English leftover on the page as it is now."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    found = leftovers(page, language)
    assert not found, f"English left on {page.url}:\n" + "\n".join(found)
    assert_no_axe_violations(page)


def visit(page: Page, path: str, language: str = "fr") -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    check(page, language)


@pytest.fixture
def french(browser: Browser, base_url: str):
    """A browser that prefers French: Chromium sends `Accept-Language: fr-FR` for this locale."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", base_url=base_url,
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def test_the_catalog_detector_finds_english_and_spares_french():
    """The detector itself can fail: a known English message is caught, its French is not."""
    plain, patterns = english_messages("fr")
    assert "Create account" in plain and "Créer un compte" not in plain
    assert any(p.fullmatch("Pay €35.00 by card") for p in patterns)
    assert not any(p.fullmatch("Payer 35,00 € par carte") for p in patterns)
    assert TELL_TALE.search("Cancel your appointment") and not TELL_TALE.search("Annuler le rendez-vous")


def test_public_pages_in_french(french: Page):
    page = french
    request_language = []
    page.on("request", lambda r: request_language.append(r.headers.get("accept-language", "")))
    visit(page, "/")
    assert request_language[0].startswith("fr-FR")  # the browser asks, no cookie has been set
    profile = page.locator(".dk-doctor__name a").first.get_attribute("href")
    for path in ("/doctors", profile, "/how-it-works", "/pricing", "/contact", "/login", "/signup", "/forgot"):
        visit(page, path)
    for section, slugs in (("legal", ("terms", "privacy", "gdpr", "hipaa")), ("blog", ())):
        if section == "blog":
            visit(page, "/blog")
            slugs = [href.rsplit("/", 1)[1] for href in
                     page.locator("main a[href^='/blog/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")]
            assert len(set(slugs)) >= 3
        for slug in dict.fromkeys(slugs):
            visit(page, f"/{section}/{slug}")
            # Each of these is written in French: no fallback notice.
            expect(page.locator("[data-dk-fallback]")).to_have_count(0)
    # Asking for a reset link, and the page that answers.
    page.goto("/forgot")
    page.locator("#email").fill(f"nobody-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    check(page)
    visit_expired = page.goto("/reset/not-a-real-token")
    assert visit_expired is not None and visit_expired.status in (200, 410)
    check(page)


def test_public_and_content_pages_in_german(browser: Browser, base_url: str):
    """The same detector over the public pages and every content page for a German browser."""
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", base_url=base_url)
    page = context.new_page()
    try:
        visit(page, "/", "de")
        profile = page.locator(".dk-doctor__name a").first.get_attribute("href")
        for path in ("/doctors", profile, "/how-it-works", "/pricing", "/contact", "/login", "/signup", "/forgot",
                     "/legal/terms", "/legal/privacy", "/legal/gdpr", "/legal/hipaa", "/blog",
                     "/blog/how-doktu-protects-your-health-data", "/blog/preparing-for-your-video-consultation",
                     "/blog/tele-consultation-or-emergency-services"):
            visit(page, path, "de")
            expect(page.locator("[data-dk-fallback]")).to_have_count(0)
    finally:
        context.close()


def test_sign_up_book_pay_and_the_patient_pages_in_french_then_german(french: Page):
    page = french
    page.goto("/")
    profile = page.locator(".dk-doctor__name a").first.get_attribute("href")
    visit(page, profile)

    # Book: a free time, then an account (the held time waits), then the health profile and payment.
    page.locator("[data-dk-slots] .dk-pill").first.click()
    expect(page).to_have_url(re.compile(r"/book/[0-9a-f-]{36}\?start="))
    check(page)
    page.get_by_role("link", name="Créer un compte", exact=True).click()
    expect(page).to_have_url(re.compile(r"/signup\?next="))
    check(page)
    page.locator("#full_name").fill("Françoise Dupont")
    page.locator("#email").fill(f"fr-{uuid.uuid4().hex[:10]}@tests.doktu.eu")
    page.locator("#password").fill(PASSWORD)
    page.locator("#accept_terms").check()
    page.get_by_role("button", name="Créer le compte").click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    appointment_id = page.url.rsplit("/", 1)[1]
    check(page)
    page.locator("#date_of_birth").fill("1985-04-12")
    page.locator("input[name=gender]").first.check()
    page.locator("#allergies").fill("Pénicilline")
    page.locator("main form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/pay/cs_local_"))
    check(page)
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.locator("#expiry").fill("12/34")
    page.locator("#cvc").fill("123")
    page.locator("main form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/pay/cs_local_"))
    page.wait_for_load_state()
    check(page)

    # The patient's own pages.
    for path in ("/dashboard", f"/visit/{appointment_id}", f"/dashboard/appointments/{appointment_id}/reschedule",
                 f"/dashboard/appointments/{appointment_id}/cancel", "/dashboard/book", "/dashboard/profile",
                 "/dashboard/billing", "/dashboard/messages", "/dashboard/documents", "/devices",
                 "/dashboard/settings", "/dashboard/settings/access-log", "/dashboard/settings/delete",
                 "/now", "/support"):
        visit(page, path)
    # Privacy self-service: ask for the data export, and an expired confirmation link.
    page.goto("/dashboard/settings")
    page.get_by_role("button", name="Télécharger mes données").click()
    page.wait_for_load_state()
    check(page)
    response = page.goto("/verify-email/not-a-real-token")
    assert response is not None and response.status == 410
    check(page)

    # German from the header, by keyboard alone: Tab to the switch, then one step down (fr → de).
    page.goto("/dashboard")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "dk-lang-header":
            break
    expect(page.locator("#dk-lang-header")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("ArrowDown")
    assert page.url.endswith("/dashboard")
    check(page, "de")
    visit(page, "/dashboard/settings", "de")
