"""See a doctor now in Chromium (SPEC §17): a doctor switches on "Taking consultations now" in the
portal; a new patient presses the home page's button, signs up (the request is kept), fills the
health profile, pays €35 on the checkout, waits with a live place in the queue, runs the device
test meanwhile; the doctor sees "Next patient: … · devices ready" and accepts; both land in the
room and each decodes the other's video. axe on every page the patient sees."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import text

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_room_in_browser import PASSWORD, _engine, participant, sign_in, wait_for_frames

pytestmark = pytest.mark.browser


def free_doctor(server_url: str) -> str:
    """A demo doctor with nothing within 45 minutes of now, with a passed device test; the email."""
    engine = _engine(server_url)
    try:
        with engine.begin() as conn:
            user_id, email = conn.execute(text("""
                SELECT u.id, u.email FROM doctors d JOIN users u ON u.id = d.user_id
                 WHERE d.online AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.doctor_id = d.id
                         AND a.status IN ('pending', 'paid', 'confirmed')
                         AND a.start_at BETWEEN now() - interval '50 minutes' AND now() + interval '50 minutes')
                 ORDER BY d.number LIMIT 1""")).one()
            conn.execute(text("INSERT INTO video_tests (user_id, passed, outcome, details) "
                              "VALUES (:u, true, 'passed', '{}'::jsonb)"), {"u": user_id})
            return email
    finally:
        engine.dispose()


def stop_taking(server_url: str) -> None:
    """Leave the shared demo database as the other browser tests expect it: doctors Online, nobody
    taking consultations now, nobody waiting."""
    engine = _engine(server_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE doctors SET taking_now = false, online = true WHERE taking_now OR NOT online"))
            conn.execute(text("UPDATE walkin_requests SET status = 'left', ended_at = now() WHERE status = 'waiting'"))
    finally:
        engine.dispose()


def test_a_new_patient_sees_a_doctor_now_from_the_home_page_to_the_room(browser: Browser, live_server, server_url):
    d_ctx, doctor = participant(browser, live_server)
    p_ctx, patient = participant(browser, live_server)
    try:
        patient.goto("/")
        expect(patient.locator("[data-dk-see-now]")).to_have_count(0)  # nobody taking consultations yet

        sign_in(doctor, free_doctor(server_url), next_path="/doctor/")
        switch = doctor.get_by_role("checkbox", name="Taking consultations now")
        expect(switch).to_be_enabled()
        switch.check()
        expect(doctor.locator("#doctor-walkin-next")).to_contain_text("Nobody is waiting")
        assert_no_axe_violations(doctor)

        patient.goto("/")
        banner = patient.locator("[data-dk-see-now]")
        expect(banner).to_contain_text(re.compile(r"\d+ available, usual wait"))
        assert_no_axe_violations(patient)
        banner.get_by_role("link", name="See a doctor now").click()
        expect(patient).to_have_url(re.compile(r"/signup\?next=/now$"))
        patient.get_by_label("Full name").fill("Walter Walkin")
        patient.get_by_label("Email").fill(f"walkin-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
        patient.get_by_label("Password", exact=True).fill(PASSWORD)
        patient.get_by_role("checkbox", name=re.compile("I accept the terms of use")).check()
        patient.get_by_role("button", name="Create account").click()
        expect(patient).to_have_url(re.compile(r"/now$"))  # the request survived the sign-up
        expect(patient.get_by_role("heading", name="See a doctor now")).to_be_visible()
        assert_no_axe_violations(patient)
        patient.get_by_label("Date of birth").fill("1984-09-30")
        patient.get_by_label("Prefer not to say").check()
        patient.get_by_role("button", name="Save and pay €35 by card").click()
        expect(patient).to_have_url(re.compile(r"/pay/cs_local_"))
        patient.get_by_label("Card number").fill("4242 4242 4242 4242")
        patient.get_by_label("Expiry date (MM/YY)").fill("12/34")
        patient.get_by_label("Security code (CVC)").fill("123")
        patient.get_by_role("button", name="Pay €35").click()

        expect(patient).to_have_url(re.compile(r"/now/[0-9a-f-]{36}$"))
        expect(patient.locator("[data-walkin-position]")).to_have_text("1")
        expect(patient.locator("[data-walkin-estimate]")).to_have_text(re.compile(r"^\d+$"))
        assert_no_axe_violations(patient, settle=False)
        line = doctor.locator("#doctor-walkin-next")
        expect(line).to_have_text("Next patient: waiting less than a minute · not tested", timeout=10_000)

        # The device test, offered while waiting.
        patient.get_by_role("link", name="Test my devices").click()
        dialog = patient.get_by_role("dialog", name="Device test")
        dialog.get_by_role("button", name=re.compile("^(Start the test|Run the whole test again)$")).click()
        expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^All checks passed"), timeout=40_000)
        dialog.get_by_role("button", name="Close", exact=True).click()
        expect(line).to_have_text("Next patient: waiting less than a minute · devices ready", timeout=10_000)

        doctor.get_by_role("button", name="Accept").click()
        expect(doctor).to_have_url(re.compile(r"/visit/[0-9a-f-]{36}$"))
        appointment = doctor.url.rsplit("/", 1)[1]
        expect(patient).to_have_url(re.compile(rf"/visit/{appointment}$"), timeout=10_000)  # by itself

        for page in (doctor, patient):
            page.get_by_role("button", name="Join the consultation").click()
        for page in (patient, doctor):
            stats = wait_for_frames(page)
            assert stats["connected"] and stats["framesDecoded"] > 0
        expect(doctor.locator("[data-room-status]")).to_have_text("You are in the consultation with Walter Walkin.")
    finally:
        stop_taking(server_url)
        p_ctx.close()
        d_ctx.close()


def test_leaving_the_queue_by_keyboard_refunds_and_says_so(browser: Browser, live_server, server_url):
    d_ctx, doctor = participant(browser, live_server)
    p_ctx, patient = participant(browser, live_server)
    try:
        sign_in(doctor, free_doctor(server_url), next_path="/doctor/")
        doctor.get_by_role("checkbox", name="Taking consultations now").check()
        expect(doctor.locator("#doctor-walkin-next")).to_contain_text("Nobody is waiting")
        patient.goto("/now")
        patient.get_by_label("Full name").fill("Lea Leaving")
        patient.get_by_label("Email").fill(f"leaving-{uuid.uuid4().hex[:8]}@tests.doktu.eu")
        patient.get_by_label("Password", exact=True).fill(PASSWORD)
        patient.get_by_role("checkbox", name=re.compile("I accept the terms of use")).check()
        patient.get_by_role("button", name="Create account").click()
        patient.get_by_label("Date of birth").fill("1979-01-05")
        patient.get_by_label("Prefer not to say").check()
        patient.get_by_role("button", name="Save and pay €35 by card").click()
        patient.get_by_label("Card number").fill("4242 4242 4242 4242")
        patient.get_by_label("Expiry date (MM/YY)").fill("12/34")
        patient.get_by_label("Security code (CVC)").fill("123")
        patient.get_by_role("button", name="Pay €35").click()
        expect(patient.locator("[data-walkin-position]")).to_have_text("1")
        # The doctor goes Offline: the patient is offered the refund at once, without a reload.
        doctor.get_by_role("checkbox", name="Online").uncheck()
        expect(doctor.get_by_role("checkbox", name="Taking consultations now")).to_be_disabled()
        expect(patient.locator("[data-walkin-refund]")).to_be_visible(timeout=10_000)
        leave = patient.get_by_role("button", name="Leave and get a refund")
        leave.focus()
        patient.keyboard.press("Enter")
        expect(patient).to_have_url(re.compile(r"/dashboard"))
        expect(patient.get_by_role("status").filter(has_text="You left the queue")).to_be_visible()
    finally:
        stop_taking(server_url)
        p_ctx.close()
        d_ctx.close()
