"""The Content-Security-Policy in a real Chromium (issue 23 §11): enforced on every page, the public
pages and both Dash portals work under it (their callbacks fire, the admin chart draws) and nothing
violates it, while an injected inline script is blocked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DASH_UPDATE

pytestmark = pytest.mark.browser

PATIENT = "patient@demo.doktu.eu"
DOCTOR = "doctor1@demo.doktu.eu"
ADMIN = "admin@demo.doktu.eu"

# Collects every violation the page reports, whatever its disposition (enforce or report).
WATCH = """document.addEventListener("securitypolicyviolation", e => {
  (window.__cspViolations = window.__cspViolations || []).push(
    `${e.disposition} ${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});"""


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Violations seen by the page (the event, per document) and in the console (Chromium's
    "Refused to …" messages), across navigations."""
    page.add_init_script(WATCH)
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def page_violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("() => window.__cspViolations || []"), *console]


def test_every_page_carries_the_enforced_policy(page: Page):
    response = page.request.get("/")
    policy = response.headers["content-security-policy"]
    assert "content-security-policy-report-only" not in response.headers
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'",
                      "form-action 'self'"):
        assert directive in policy
    assert "'unsafe-eval'" not in policy and "script-src 'self' 'sha256-" in policy
    assert "strict-transport-security" not in response.headers  # HTTPS is production's only


def test_an_injected_inline_script_is_blocked(page: Page, violations):
    page.goto("/")
    ran = page.evaluate("""() => { const s = document.createElement("script");
        s.textContent = "window.__injected = true"; document.body.appendChild(s); return window.__injected === true; }""")
    assert ran is False
    page.wait_for_function("() => (window.__cspViolations || []).length > 0")
    assert any("script-src" in v for v in page_violations(page, violations))


def test_public_pages_and_the_patient_dashboard_work_without_violations(page: Page, login, violations):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto("/doctors")
    expect(page.get_by_role("search")).to_be_visible()
    login(PATIENT)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    assert page.evaluate("() => document.documentElement.className") == "js"  # the hashed inline script ran
    assert page_violations(page, violations) == []


def callbacks_answered(page: Page) -> list[str]:
    """Dash callbacks the server answered with 200 (the renderer's own XHRs, from our origin)."""
    answered: list[str] = []
    page.on("response", lambda r: answered.append(r.url) if DASH_UPDATE in r.url and r.status == 200 else None)
    return answered


def test_the_doctor_portal_works_under_the_policy(page: Page, login, violations, dash_failures):
    answered = callbacks_answered(page)
    login(DOCTOR, next_path="/doctor/")
    expect(page.get_by_role("heading", name="Upcoming consultations")).to_be_visible()
    page.get_by_role("radio", name="Day").check()  # a server callback, fired by Dash's renderer
    expect(page.locator("#doctor-cal-table.dk-cal--day")).to_be_visible()
    assert answered, "no Dash callback reached the server"
    assert page_violations(page, violations) == []
    assert dash_failures == []


def test_the_admin_console_works_under_the_policy(page: Page, login, violations, dash_failures):
    answered = callbacks_answered(page)
    login(ADMIN, next_path="/admin/")
    expect(page.locator('[data-kpi="booked"]')).to_be_visible()
    period = page.get_by_role("group", name="Period").get_by_role("button", name="Last 7 days")
    period.click()  # a server callback
    expect(period).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#admin-bookings-columns").first).to_be_attached()  # the chart was drawn
    assert answered, "no Dash callback reached the server"
    assert page_violations(page, violations) == []
    assert dash_failures == []
