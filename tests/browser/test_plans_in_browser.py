"""Plans in Chromium (SPEC §8): a guest chooses Basic on /pricing, signs up, completes the health
profile, pays €29 on the local checkout with card 4242 and finds the consultation credit at the
checkout of a booking; axe on every page of the way, /pricing signed in included."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_axe_violations as assert_no_violations

pytestmark = pytest.mark.browser
STRONG_PASSWORD = "Quiet-Harbour-47-Lanterns!"




def test_a_new_patient_buys_basic_and_books_with_its_credit(page: Page):
    page.goto("/pricing")
    page.get_by_role("link", name="Choose Basic").click()
    expect(page).to_have_url(re.compile(r"/signup\?next=(/|%2F)pricing$"))
    page.get_by_label("Full name").fill("Plan Buyer")
    page.get_by_label("Email").fill(f"plan-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/onboarding\?next="))
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_role("group", name="Gender").get_by_role("radio", name="Female").check()
    page.get_by_role("button", name="Save my profile").click()
    expect(page).to_have_url(re.compile(r"/pricing$"))

    # /pricing signed in: each plan has its button, and the page stays accessible.
    expect(page.get_by_role("button", name="Choose Premium")).to_be_visible()
    assert_no_violations(page)
    page.get_by_role("button", name="Choose Basic").click()

    expect(page).to_have_url(re.compile(r"/pay/cs_local_[0-9a-f]{24}$"))
    expect(page.get_by_text("Basic plan — €29 per month")).to_be_visible()
    assert_no_violations(page)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=re.compile("Subscribe")).click()

    expect(page).to_have_url(re.compile(r"/pricing\?plan_session=cs_local_"))
    expect(page.get_by_role("status").filter(has_text="Your plan is active.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your plan: Basic")).to_be_visible()
    expect(page.get_by_role("button", name="Choose Basic")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel my plan")).to_be_visible()
    assert_no_violations(page)

    # The credit pays for a consultation: it is offered at the checkout of a booking.
    page.goto("/")
    page.goto(page.locator(".dk-doctor__name a").first.get_attribute("href"))
    page.locator("[data-dk-slots] .dk-pill").first.click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    expect(page.get_by_role("button", name="Use €35 of my credit (€35 available)")).to_be_visible()
    assert_no_violations(page)


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "mobile-375"])
def test_pricing_for_a_guest_offers_each_plan_and_is_accessible(page: Page, width: int):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/pricing")
    for name in ("Basic", "Premium"):
        link = page.get_by_role("link", name=f"Choose {name}")
        expect(link).to_be_visible()
        assert link.bounding_box()["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_no_violations(page)
