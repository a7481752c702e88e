"""Reschedule and cancel end to end (issue 6 done-when), in Chromium: a new patient pays on the
local checkout, sees the paid appointment, reschedules twice, cancels and sees the refund; axe on
every page of the way."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.live_browser import assert_no_axe_violations as assert_no_violations

pytestmark = pytest.mark.browser
PASSWORD = "Quiet-Harbour-47-Lanterns!"




def sign_up(page: Page) -> None:
    page.goto("/signup")
    page.get_by_label("Full name").fill("Dana Dashboard")
    page.get_by_label("Email").fill(f"dash-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/onboarding"))
    page.get_by_label("Date of birth").fill("1988-04-12")
    page.get_by_label("Prefer not to say").check()
    page.get_by_role("button", name="Save my profile").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def pick_a_time(page: Page, nth_day: int) -> None:
    """From the last doctor of the home grid (the other browser tests book the first)."""
    page.goto("/")
    page.locator(".dk-doctor__name a").last.click()
    page.locator("[data-dk-day]:not(.dk-day--empty)").nth(nth_day).click()
    expect(page.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    page.locator("[data-dk-slots] .dk-pill").first.click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))


def test_pay_reschedule_twice_cancel_and_see_the_refund(page: Page):
    sign_up(page)
    assert_no_violations(page)
    pick_a_time(page, 1)
    assert_no_violations(page)
    page.get_by_role("button", name="Pay €35 by card").click()
    expect(page).to_have_url(re.compile(r"/pay/cs_local_"))
    assert_no_violations(page)
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay €35").click()
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined")
    assert_no_violations(page)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay €35").click()
    expect(page.get_by_role("heading", name="Your consultation is booked")).to_be_visible()
    assert_no_violations(page)

    page.get_by_role("link", name="Go to my appointments").click()
    card = page.locator(".dk-appointment").first
    expect(card).to_contain_text("Confirmed")
    expect(card).to_contain_text("paid €35")
    expect(card).to_contain_text("2 reschedules left.")
    assert_no_violations(page)

    for left in (1, 0):
        card.get_by_role("link", name=re.compile("^Reschedule")).click()
        assert_no_violations(page)
        page.locator(".dk-day:not(.dk-day--empty)").nth(2 + left).click()
        page.locator(".dk-pills .dk-pill").nth(1).click()
        expect(page.get_by_role("status").first).to_contain_text("Your appointment is moved to")
        card = page.locator(".dk-appointment").first
        if left:
            expect(card).to_contain_text("1 reschedule left.")
    expect(card).to_contain_text("at most 2 times")
    expect(card.get_by_role("link", name=re.compile("^Reschedule"))).to_have_count(0)

    card.get_by_role("link", name=re.compile("^Cancel")).click()
    expect(page.get_by_text("How would you like your €35 back?")).to_be_visible()
    assert_no_violations(page)
    page.get_by_label("Reason (optional, shared with your doctor)").fill("Feeling better")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("status").first).to_contain_text("€35 is refunded to your card")
    past = page.get_by_role("row").filter(has_text="Cancelled")
    expect(past).to_contain_text("€35 refunded")
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("row").filter(has_text="Refunded")).to_have_count(1)
    assert_no_violations(page)
    for tab in ("Book new", "Health profile"):
        page.get_by_role("navigation", name="My space").get_by_role("link", name=tab).click()
        expect(page.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")
        assert_no_violations(page)


def test_the_extra_confirmation_step_of_card_3155(page: Page):
    sign_up(page)
    pick_a_time(page, 2)
    page.get_by_role("button", name="Pay €35 by card").click()
    page.get_by_label("Card number").fill("4000002500003155")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay €35").click()
    expect(page.get_by_role("heading", name=re.compile("Confirm the payment"))).to_be_visible()
    assert_no_violations(page)
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Your consultation is booked")).to_be_visible()
