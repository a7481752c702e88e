"""Issue 25 in a real browser: the contact pages (guest, patient, doctor), a patient's message at
the top of the admin Inbox with its due time, its health details revealed with a reason — axe
finds nothing on any of these pages."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD
from tests.browser.conftest import assert_no_axe_violations as assert_no_violations

pytestmark = pytest.mark.browser


def test_a_guest_writes_through_the_contact_form(page: Page):
    page.goto("/")
    page.get_by_role("link", name="Contact us").click()
    expect(page.get_by_role("heading", name="Contact us", level=1)).to_be_visible()
    assert_no_violations(page)
    page.get_by_label("Your email").fill("guest-browser@example.org")
    page.get_by_label("Subject").fill("Insurance")
    page.get_by_label("Your message").fill("Do you work with mutuelles?")
    a, b = map(int, re.search(r"What is (\d+) plus (\d+)\?", page.content()).groups())
    page.get_by_label(re.compile("Security question")).fill(str(a + b))
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("your message is with our care team")
    assert_no_violations(page)


def test_a_patients_message_tops_the_admin_inbox_and_its_health_details_need_a_reason(page: Page, login,
                                                                                       browser):
    subject = f"Rash {uuid.uuid4().hex[:6]}"
    login("patient@demo.doktu.eu")
    page.get_by_role("link", name="Contact us").first.click()
    expect(page).to_have_url(re.compile(r"/support$"))
    assert_no_violations(page)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Your message").fill("The rash on my arm is spreading.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    expect(page.get_by_text("We will answer by")).to_be_visible()
    assert_no_violations(page)

    context = browser.new_context(base_url=page.url.split("/support")[0], viewport={"width": 1280, "height": 800})
    admin = context.new_page()
    admin.goto("/login?next=/admin/")
    admin.get_by_label("Email").fill("admin@demo.doktu.eu")
    admin.get_by_label("Password").fill(DEMO_PASSWORD)
    admin.get_by_role("button", name="Log in", exact=True).click()
    expect(admin.locator("#admin-section-title")).to_have_text("Overview", timeout=10_000)
    admin.locator("#admin-nav-inbox").click()
    expect(admin.locator("#admin-section-title")).to_have_text("Inbox", timeout=10_000)
    first_row = admin.locator("#admin-inbox-table tbody tr").first
    expect(first_row).to_contain_text(subject, timeout=10_000)
    expect(first_row).to_contain_text("Waiting on us")
    assert_no_violations(admin)
    first_row.get_by_role("button", name=re.compile("^Open")).click()
    expect(admin.get_by_text("Health details, hidden")).to_be_visible(timeout=10_000)
    expect(admin.get_by_text("The rash on my arm is spreading.")).to_have_count(0)
    admin.get_by_label("Reason for reading (required)").fill("Deciding whether to advise an urgent booking")
    admin.get_by_role("button", name="Reveal").click()
    expect(admin.get_by_text("The rash on my arm is spreading.")).to_be_visible(timeout=10_000)
    admin.get_by_label("Your answer (emailed to them)").fill("Please book a consultation today.")
    admin.get_by_role("button", name="Send answer").click()
    expect(admin.locator("#admin-inbox-status")).to_contain_text("Sent", timeout=10_000)
    assert_no_violations(admin)
    context.close()

    page.reload()
    expect(page.get_by_text("Please book a consultation today.")).to_be_visible()
    expect(page.get_by_text("Waiting on you")).to_be_visible()


def test_a_doctor_reaches_contact_us_from_the_portal(page: Page, login):
    login("doctor1@demo.doktu.eu", DEMO_PASSWORD, next_path="/doctor/")
    page.get_by_role("link", name="Contact us").first.click()
    expect(page).to_have_url(re.compile(r"/support$"))
    expect(page.get_by_role("heading", name="Write to our care team")).to_be_visible()
    assert_no_violations(page)


def test_a_new_premium_member_withdraws_from_billing(page: Page):
    """Buy Premium on the local checkout, then Billing states €59 and withdrawing refunds it."""
    page.goto("/signup?next=/pricing")
    page.get_by_label("Full name").fill("Change Mind")
    page.get_by_label("Email").fill(f"withdraw-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.get_by_label("Password", exact=True).fill("Quiet-Harbour-47-Lanterns!")
    page.get_by_role("checkbox", name=re.compile("I accept the terms of use")).check()
    page.get_by_role("button", name="Create account").click()
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_role("group", name="Gender").get_by_role("radio", name="Female").check()
    page.get_by_role("button", name="Save my profile").click()
    expect(page).to_have_url(re.compile(r"/pricing$"))
    page.get_by_role("button", name="Choose Premium").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=re.compile("Subscribe")).click()
    expect(page.get_by_role("heading", name="Your plan: Premium")).to_be_visible()

    page.goto("/dashboard/billing")
    button = page.get_by_role("button", name="Withdraw and get €59 refunded")
    expect(button).to_be_visible()
    expect(page.locator("#withdraw-terms")).to_contain_text("minus €35 for each consultation you have had with it (0)")
    assert_no_violations(page)
    button.click()
    expect(page.get_by_text("You have withdrawn from your plan.")).to_be_visible()
    expect(page.get_by_text("€59 refunded")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Withdraw and get"))).to_have_count(0)
    expect(page.get_by_role("cell", name=re.compile("^Credit note refers to receipt"))).to_be_visible()
    assert_no_violations(page)
