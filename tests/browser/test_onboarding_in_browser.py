"""A doctor comes on board in Chromium (SPEC §19, issue 17): an admin invites them from the console,
the doctor opens the emailed link, chooses a password, completes the profile, photo and weekly
hours and submits; the admin approves; a patient books a time that follows those hours and pays;
the booking is in the doctor's private calendar feed (parsed with `icalendar`). axe on every page
of the way."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.doctors.calendar_feed import feed_path, feed_token
from tests import resources
from tests.live_browser import DEMO_PASSWORD, assert_no_axe_violations

pytestmark = pytest.mark.browser

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "Onboard-Me-Carefully-2026"
RPPS = "10003987657"
HOURS = "06:00-07:00"  # every day: far from the 10:00–21:00 default, so a booking proves the hours


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 140, 90)).save(out, "PNG")
    return out.getvalue()


def database(server_url: str):
    return create_engine(make_url(server_url).set(database=f"{resources.db_name()}_browser"))


def test_invite_onboard_approve_and_book(page: Page, browser: Browser, base_url: str, login, live_doktu,
                                         server_url, dash_failures):
    email = f"onboard-{uuid.uuid4().hex[:8]}@tests.doktu.eu"
    name = f"Dr. Onboard {uuid.uuid4().hex[:4].upper()}"

    # 1. The admin invites from the Doctors view.
    login("admin@demo.doktu.eu")
    page.goto("/admin/doctors")
    page.get_by_label("Doctor's email").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#admin-invite-status")).to_contain_text(f"Invitation sent to {email}")
    expect(page.locator("#admin-invitations")).to_contain_text(email)
    assert_no_axe_violations(page)

    page.goto("/dev/outbox")
    link = page.get_by_role("article").filter(has_text=f"To {email}").get_by_role("link")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(rf"{re.escape(base_url)}/join/[\w-]{{20,}}", href), href

    # 2. The doctor, in a browser of their own, chooses a password and completes the profile.
    doctor_context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    doc = doctor_context.new_page()
    doc.goto(href)
    expect(doc.get_by_role("heading", name="Join Doktu as a doctor")).to_be_visible()
    assert_no_axe_violations(doc)
    doc.get_by_label("Your name as patients will see it").fill(name)
    doc.get_by_label("Password", exact=True).fill(PASSWORD)
    doc.get_by_label("Repeat the password").fill(PASSWORD)
    doc.get_by_role("button", name="Create my account").click()
    expect(doc).to_have_url(re.compile(r"/doctor-onboarding$"))
    expect(doc.get_by_label("Steps done")).to_have_attribute("value", "1")
    assert_no_axe_violations(doc)

    doc.get_by_label("RPPS number (11 digits)").fill("10003987650")  # a wrong check key first
    doc.get_by_label("Specialty").select_option("Neurology")
    doc.get_by_label("Français").check()  # each language named in itself (SPEC §20)
    doc.get_by_label("English").check()
    doc.get_by_role("button", name="Save profile").click()
    expect(doc.get_by_role("alert")).to_contain_text("check key")
    assert_no_axe_violations(doc)
    doc.get_by_label("RPPS number (11 digits)").fill(RPPS)
    doc.get_by_role("button", name="Save profile").click()
    expect(doc.get_by_text("Your professional profile is saved.")).to_be_visible()

    doc.get_by_label(re.compile("A portrait photo")).set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": png()})
    doc.get_by_role("button", name="Upload photo").click()
    expect(doc.get_by_text("Your photo is saved.", exact=True)).to_be_visible()

    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        doc.get_by_label(day, exact=True).fill(HOURS)
    doc.get_by_role("button", name="Save weekly hours").click()
    expect(doc.get_by_text("Your weekly hours are saved.")).to_be_visible()
    doc.get_by_role("button", name="Submit for review").click()
    expect(doc.locator("#onboarding-status")).to_contain_text("Submitted for review")
    expect(doc.get_by_label("Steps done")).to_have_attribute("value", "5")
    assert_no_axe_violations(doc)

    with database(server_url).connect() as conn:
        doctor_id, version = conn.execute(text(
            "SELECT d.id, d.feed_version FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email = :e"),
            {"e": email}).one()
    assert page.request.get(f"/doctors/{doctor_id}").status == 404  # not listed before approval

    # 3. The admin approves with a reason.
    page.goto("/admin/doctors")
    card = page.locator("article.admin-doctor").filter(has_text=name)
    card.get_by_label(re.compile("Reason")).fill("RPPS checked")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#admin-doctor-status")).to_contain_text("Approved")
    assert_no_axe_violations(page)

    # 4. A patient books the first free time: it follows the weekly hours, then pays by card.
    patient_context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800},
                                          timezone_id="Europe/Paris")
    patient = patient_context.new_page()
    patient.goto("/login")
    patient.get_by_label("Email").fill("patient@demo.doktu.eu")
    patient.get_by_label("Password").fill(DEMO_PASSWORD)
    patient.get_by_role("button", name="Log in", exact=True).click()
    patient.wait_for_load_state()
    patient.goto(f"/doctors/{doctor_id}")
    expect(patient.get_by_role("heading", name=name)).to_be_visible()
    expect(patient.get_by_text("06:00–07:00").first).to_be_visible()
    assert_no_axe_violations(patient)
    patient.locator("[data-dk-slots] .dk-pill").first.click()
    expect(patient).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    start = datetime.fromisoformat(patient.locator("[data-dk-appointment-start]").get_attribute(
        "data-dk-appointment-start"))
    local = start.astimezone(PARIS)
    assert local.hour == 6 and local.minute in (0, 15, 30), local  # inside 06:00–07:00 Paris
    patient.get_by_role("button", name=re.compile(r"Pay €35\.00 by card|Pay €35 by card")).click()
    expect(patient).to_have_url(re.compile(r"/pay/cs_local_"))
    patient.get_by_label("Card number").fill("4242 4242 4242 4242")
    patient.get_by_label("Expiry date (MM/YY)").fill("12/34")
    patient.get_by_label("Security code (CVC)").fill("123")
    patient.get_by_role("button", name=re.compile("^Pay")).click()
    expect(patient).not_to_have_url(re.compile(r"/pay/cs_local_"))

    # 5. The doctor's private feed shows the booking (initials only).
    deadline, event = time.monotonic() + 15, None
    path = feed_path(doctor_id, feed_token(doctor_id, version, live_doktu.secret_key))
    while time.monotonic() < deadline and event is None:
        answer = doc.request.get(path)
        assert answer.status == 200
        events = Calendar.from_ical(answer.body()).walk("VEVENT")
        event = next((e for e in events if e.decoded("dtstart") == start.astimezone(UTC)), None)
        if event is None:
            time.sleep(0.3)
    assert event is not None, "the paid booking is not in the feed"
    assert str(event["status"]) == "CONFIRMED"
    assert re.fullmatch(r"Doktu consultation — [A-Z]\.([A-Z]\.)?", str(event["summary"]))
    assert not dash_failures
    patient_context.close()
    doctor_context.close()
