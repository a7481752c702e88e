"""The Flask pages and the two Dash portals driven in a real Chromium against a real `doktu serve`.

SPEC §7 (login, navigation), §12 "Pages" (role gates on /doctor/ and /admin/), §9 (portals).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DASH_UPDATE, DEMO_PASSWORD

pytestmark = pytest.mark.browser

DOCTOR = "doctor1@demo.doktu.eu"
ADMIN = "admin@demo.doktu.eu"
PATIENT = "patient@demo.doktu.eu"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def expect_portal_frame(page: Page, label: str) -> None:
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Doktu home")).to_be_visible()
    expect(header.get_by_text(label, exact=True)).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.mark.parametrize("portal", ["/doctor/", "/admin/"])
def test_anonymous_visit_of_a_portal_ends_on_login_with_next(page: Page, portal: str):
    response = page.goto(portal)

    assert response is not None and response.status == 200
    assert path_of(page) == "/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == [portal]
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_doctor_signs_in_through_the_form_and_sees_the_dash_portal(page: Page, dash_failures):
    page.goto("/doctor/")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    page.get_by_label("Email").fill(DOCTOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/doctor/$"))
    expect(page.get_by_role("heading", name="Upcoming consultations")).to_be_visible()
    expect_portal_frame(page, "Doctor portal")
    expect(page.get_by_text("Dr. Camille Martin")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["_csrf_token"]["path"] == "/doctor/", "Dash needs the CSRF token cookie"
    assert dash_failures == []


def test_admin_console_callbacks_run_with_the_csrf_header(page: Page, login, dash_failures):
    callbacks = []
    page.on("requestfinished", lambda r: DASH_UPDATE in r.url and callbacks.append(r))

    login(ADMIN, next_path="/admin/")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect_portal_frame(page, "Admin console")
    title = page.locator("#admin-section-title")
    expect(title).to_have_text("Overview")
    sidebar = page.get_by_role("navigation", name="Admin sections")
    for section in ("Appointments", "Payments", "Alerts", "Overview"):
        sidebar.get_by_role("link", name=section).click()
        expect(title).to_have_text(section)
        expect(page).to_have_url(re.compile(rf"/admin/{section.lower()}$"))
        expect(sidebar.locator("a.is-active")).to_contain_text(section)

    assert dash_failures == []
    assert len(callbacks) >= 4
    for request in callbacks:
        assert request.method == "POST"
        assert request.headers.get("x-csrftoken"), "dash-renderer must send the _csrf_token cookie back"
        assert request.response().status == 200


def test_dash_callback_without_the_csrf_header_is_refused(page: Page, login):
    """The check above is not vacuous: the server does demand the token on callbacks."""
    login(ADMIN, next_path="/admin/")
    expect(page.locator("#admin-section-title")).to_have_text("Overview")
    body = {"output": "..admin-section.children...admin-sidebar.children..",
            "outputs": [{"id": "admin-section", "property": "children"},
                        {"id": "admin-sidebar", "property": "children"}],
            "inputs": [{"id": "admin-url", "property": "pathname", "value": "/admin/payments"}],
            "changedPropIds": ["admin-url.pathname"], "state": []}

    refused = page.request.post("/admin/_dash-update-component", data=body)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "_csrf_token")
    accepted = page.request.post("/admin/_dash-update-component", data=body, headers={"X-CSRFToken": token})

    assert refused.status == 400
    assert accepted.status == 200, accepted.text()
    assert "Payments" in accepted.text()


@pytest.mark.parametrize(("email", "portal", "message"), [
    (PATIENT, "/doctor/", "This area is for doctors only."),
    (DOCTOR, "/admin/", "This area is for admins only."),
])
def test_wrong_role_gets_a_readable_403_page(page: Page, login, email: str, portal: str, message: str):
    login(email)

    response = page.goto(portal)

    assert response is not None and response.status == 403
    assert path_of(page) == portal
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text(message)).to_be_visible()
    expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()
    content = page.content()
    assert "Traceback" not in content and "Werkzeug" not in content


def test_dash_layout_endpoint_refuses_the_wrong_role_too(page: Page, login):
    login(DOCTOR)

    response = page.request.get("/admin/_dash-layout")

    assert response.status == 403
    assert response.json()["error"]["code"] == "ERR_FORBIDDEN"


def test_sign_out_from_the_dash_header_returns_home_and_locks_the_portal(page: Page, login):
    login(DOCTOR, next_path="/doctor/")
    expect(page.get_by_role("heading", name="Upcoming consultations")).to_be_visible()

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/doctor/")
    assert path_of(page) == "/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == ["/doctor/"]


def test_wrong_password_shows_a_readable_error_and_keeps_the_email(page: Page):
    page.goto("/login")
    page.get_by_label("Email").fill(PATIENT)
    page.get_by_label("Password").fill("not-the-password")

    page.get_by_role("button", name="Log in", exact=True).click()

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(re.compile(r"\w+ \w+"))  # words, not a code or a trace
    assert "Traceback" not in alert.inner_text()
    expect(page.get_by_label("Email")).to_have_value(PATIENT)
    expect(page.get_by_label("Password")).to_have_value("")
    assert path_of(page) == "/login"


def test_keyboard_only_login(page: Page):
    page.goto("/login")

    for _ in range(20):  # skip link, header links… then the form
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(PATIENT)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_patient_lands_on_the_dashboard_with_the_seeded_appointment(page: Page, login):
    login(PATIENT)

    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Past and cancelled")).to_be_visible()
    # Other browser tests may book with the demo patient too: the seeded visit is the completed one.
    row = page.get_by_role("row").filter(has_text="Dr. Camille Martin").filter(has_text="completed")
    expect(row).to_have_count(1)
