"""axe-core (WCAG 2.x A/AA + best practices) finds nothing on the public pages and both portals."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD
from tests.browser.conftest import assert_no_axe_violations as assert_no_violations

pytestmark = pytest.mark.browser





@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "mobile-375"])
def test_home(page: Page, width: int):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    if width == 375:  # nothing wider than the screen on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_no_violations(page)


# The content pages (SPEC §7): how it works, pricing, the legal pages, the blog and one post.
CONTENT_PAGES = ["/how-it-works", "/pricing", "/legal/gdpr", "/legal/privacy", "/legal/terms", "/legal/hipaa",
                 "/blog", "/blog/preparing-for-your-video-consultation"]


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "mobile-375"])
@pytest.mark.parametrize("path", CONTENT_PAGES)
def test_content_pages(page: Page, path: str, width: int):
    page.set_viewport_size({"width": width, "height": 800})
    response = page.goto(path)
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    if width == 375:  # long tables and words wrap: nothing wider than the screen on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_no_violations(page)


def test_not_found_page(page: Page):
    response = page.goto("/blog/no-such-article")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert_no_violations(page)


def test_login_page_and_its_field_errors(page: Page):
    page.goto("/login")
    assert_no_violations(page)

    page.get_by_label("Email").fill("not-an-email")  # a field error, not a failed sign-in
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    assert_no_violations(page)


def test_patient_dashboard(page: Page, login):
    login("patient@demo.doktu.eu")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    assert_no_violations(page)


def test_doctor_portal(page: Page, login):
    login("doctor1@demo.doktu.eu", DEMO_PASSWORD, next_path="/doctor/")
    expect(page.get_by_role("heading", name="Upcoming consultations")).to_be_visible()
    assert_no_violations(page)


def test_admin_console(page: Page, login):
    login("admin@demo.doktu.eu", DEMO_PASSWORD, next_path="/admin/")
    expect(page.locator("#admin-section-title")).to_have_text("Overview")
    assert_no_violations(page)

    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Payments").click()
    expect(page.locator("#admin-section-title")).to_have_text("Payments")
    assert_no_violations(page)


def test_forbidden_page(page: Page, login):
    login("doctor2@demo.doktu.eu")
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert_no_violations(page)
