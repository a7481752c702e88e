"""Privacy, self-service in Chromium (SPEC §21; WCAG 2.1 AA): axe finds nothing on any new page —
the dashboard's "confirm your email" banner, the confirmation page, Settings' privacy section,
the access log, an expired link, the consent interstitial and the doctors' "My data" page — and
each is usable by keyboard. The download link gives the ZIP in the browser."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.accounts.passwords import hash_password
from tests import resources
from tests.browser.conftest import assert_no_axe_violations as assert_no_violations
from tests.browser.test_accounts_in_browser import admin_outbox

pytestmark = pytest.mark.browser
PASSWORD = "Quiet-Harbour-47-Lanterns!"


@pytest.fixture(scope="module")
def browser_db(live_doktu, server_url):
    """The live server's own database, as its owner (for fixtures the UI cannot make)."""
    name = f"{resources.db_name()}_browser"
    engine = create_engine(make_url(server_url).set(database=name))
    yield engine
    engine.dispose()


def sign_up(page: Page) -> str:
    email = f"privacy-{uuid.uuid4().hex[:10]}@tests.doktu.eu"
    page.goto("/signup")
    page.get_by_label("Full name").fill("Pia Privacy")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    box = page.locator("#accept_terms")
    expect(box).not_to_be_checked()  # never pre-ticked
    box.check()
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/onboarding"))
    return email


def focus_and_press(page: Page, locator, key: str = "Enter", limit: int = 80) -> None:
    """Reach `locator` with Tab only, then press `key` on it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            page.keyboard.press(key)
            return
    raise AssertionError("never reached by Tab")


def test_verification_banner_settings_privacy_and_access_log_by_keyboard(page: Page):
    email = sign_up(page)
    page.goto("/dashboard")
    banner = page.locator("#verify-banner")
    expect(banner).to_contain_text("Please confirm your email address")
    assert_no_violations(page)
    page.goto("/dashboard")
    focus_and_press(page, page.get_by_role("button", name="Send the link again"))
    expect(page.get_by_role("status").filter(has_text="confirmation link")).to_be_visible()
    assert_no_violations(page)

    with admin_outbox(page) as outbox:  # the developer outbox is for admins only
        href = outbox.locator("article", has_text=email).filter(has_text="Confirm your email").first \
            .locator('a[href*="/verify-email/"]').get_attribute("href")
    page.goto(href)
    expect(page.get_by_role("heading", name="Your email address is confirmed")).to_be_visible()
    assert_no_violations(page)
    page.goto("/dashboard")
    expect(page.locator("#verify-banner")).to_have_count(0)

    page.goto("/dashboard/settings")
    expect(page.get_by_role("heading", name="Your data and privacy")).to_be_visible()
    assert_no_violations(page)
    focus_and_press(page, page.get_by_role("button", name="Download my data"))
    expect(page.get_by_role("status").filter(has_text="We are preparing your data")).to_be_visible()
    expect(page.get_by_role("button", name="Download my data")).to_be_disabled()  # one in progress
    assert_no_violations(page)

    marketing = page.get_by_label("Send me news and offers from Doktu by email")
    expect(marketing).not_to_be_checked()  # off by default
    focus_and_press(page, marketing, key="Space")
    expect(marketing).to_be_checked()
    focus_and_press(page, page.get_by_role("button", name="Save email preferences"))
    expect(page.get_by_role("status").filter(has_text="You will receive news")).to_be_visible()
    expect(page.get_by_label("Send me news and offers from Doktu by email")).to_be_checked()

    focus_and_press(page, page.get_by_role("link", name="See who looked at my record"))
    expect(page).to_have_url(re.compile(r"/dashboard/settings/access-log$"))
    expect(page.get_by_text("Nobody has looked at your health record yet.")).to_be_visible()
    assert_no_violations(page)

    page.goto("/account/data/download/not-a-real-token")
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    assert_no_violations(page)


def test_a_new_terms_version_is_accepted_by_keyboard_before_going_on(page: Page, browser_db):
    email = f"consent-{uuid.uuid4().hex[:10]}@tests.doktu.eu"
    with browser_db.begin() as conn:
        uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
            VALUES (:e, 'patient', 'Old Terms', :h) RETURNING id"""),
            {"e": email, "h": hash_password(PASSWORD, cost=4)}).scalar_one()
        conn.execute(text("INSERT INTO patients (user_id) VALUES (:u)"), {"u": uid})
        conn.execute(text("""INSERT INTO consents (user_id, kind, version)
            VALUES (:u, 'terms', '2020-01-01'), (:u, 'privacy', '2020-01-01')"""), {"u": uid})
    page.goto("/login?next=/dashboard/billing")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/consents\?next=/dashboard/billing$"))
    expect(page.get_by_role("heading", name="Our terms have changed")).to_be_visible()
    assert_no_violations(page)
    box = page.get_by_label("I accept the terms of use and the privacy notice")
    expect(box).not_to_be_checked()
    focus_and_press(page, box, key="Space")
    focus_and_press(page, page.get_by_role("button", name="Continue"))
    expect(page).to_have_url(re.compile(r"/dashboard/billing$"))


def test_the_emailed_link_downloads_the_zip_once(page: Page, browser_db):
    email = sign_up(page)
    token = uuid.uuid4().hex
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.md", "# Your Doktu data\n")
    with browser_db.begin() as conn:
        conn.execute(text("""INSERT INTO data_exports (user_id, status, token_hash, archive, size_bytes, ready_at,
                                                       expires_at)
            SELECT id, 'ready', :h, :a, :n, now(), now() + interval '24 hours' FROM users WHERE email = :e"""),
            {"h": hashlib.sha256(token.encode()).hexdigest(), "a": buffer.getvalue(), "n": len(buffer.getvalue()),
             "e": email})
    with page.expect_download() as info:
        page.evaluate("url => { const a = document.createElement('a'); a.href = url; a.click(); }",
                      f"/account/data/download/{token}")
    download = info.value
    assert download.suggested_filename.startswith("doktu-data-") and download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as got:
        assert got.read("README.md").startswith(b"# Your Doktu data")
    page.goto(f"/account/data/download/{token}")  # used: gone
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()


def test_doctors_have_their_data_page(page: Page, login):
    login("doctor3@demo.doktu.eu", next_path="/account/data")
    expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Download my data")).to_be_enabled()
    assert_no_violations(page)
