"""After the consultation, in Chromium against a real `doktu serve` (SPEC §18, the issue's "done
when"): the doctor writes a prescription from Patient records in the Dash portal; the patient finds
it in Documents and downloads the PDF (its text checked with pypdf), rates the doctor from the
dashboard; an admin approves the comment in the console; the profile shows it. axe finds nothing on
the dialog, the Documents tab, the dashboard prompt, the console's Reviews and the profile.

Data the journey needs (a patient and a completed consultation) is written into the server's
database as its owner; doctor9 is used by no other browser test."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import resources
from tests.browser.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser

DOCTOR = "doctor9@demo.doktu.eu"


@pytest.fixture(scope="module")
def completed_visit(live_doktu, server_url):
    """A patient "Chloé Bernard" (born 17 May 1991, the demo password) whose consultation with doctor9
    ended an hour ago and is completed."""
    name = f"{resources.db_name()}_browser"
    engine = create_engine(make_url(server_url).set(database=name))
    email = f"chloe-{uuid.uuid4().hex[:8]}@tests.doktu.eu"
    with engine.begin() as conn:
        doctor = conn.execute(text("""SELECT d.id, d.number, d.display_name FROM doctors d JOIN users u ON u.id = d.user_id
                                      WHERE u.email = :e"""), {"e": DOCTOR}).one()
        password_hash = conn.execute(text("SELECT password_hash FROM users WHERE email = 'patient@demo.doktu.eu'")
                                     ).scalar()
        user_id = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
            VALUES (:e, 'patient', 'Chloé Bernard', :h) RETURNING id"""), {"e": email, "h": password_hash}).scalar()
        patient_id = conn.execute(text("""INSERT INTO patients (user_id, date_of_birth, onboarded_at)
            VALUES (:u, '1991-05-17', now()) RETURNING id"""), {"u": user_id}).scalar()
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
        conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status, completed_at)
                             VALUES (:d, :p, :s, :e, 'completed', :e)"""),
                     {"d": doctor.id, "p": patient_id, "s": start, "e": start + timedelta(minutes=30)})
    engine.dispose()
    return {"email": email, "doctor_id": str(doctor.id), "doctor_name": doctor.display_name,
            "rpps": f"10003{doctor.number}789"}


def test_prescription_written_in_the_portal_downloaded_by_the_patient_then_rated_and_published(
        page: Page, login, dash_failures, completed_visit):
    v = completed_visit
    # The doctor: Patient records → the record → Notes & documents → a prescription.
    login(DOCTOR)
    expect(page.get_by_role("heading", name="Upcoming consultations")).to_be_visible()
    page.get_by_role("button", name="Patient records").click()
    page.get_by_role("button", name="Open the record of Chloé Bernard, born 17/05/1991").click()
    page.get_by_role("button", name=re.compile("^Notes and documents: consultation with Chloé Bernard")).click()
    dialog = page.get_by_role("dialog", name="Notes and documents")
    expect(dialog).to_contain_text("Chloé Bernard ·")
    dialog.get_by_label("Your note").fill("Mild pharyngitis; no antibiotics unless fever persists.")
    dialog.get_by_role("button", name="Save the note").click()
    expect(dialog.get_by_role("status").first).to_contain_text("Note saved")
    dialog.locator("#doctor-rx-medicine-0").fill("Paracetamol 1 g")
    dialog.locator("#doctor-rx-dose-0").fill("1 tablet")
    dialog.locator("#doctor-rx-frequency-0").fill("every 6 hours if needed")
    dialog.locator("#doctor-rx-duration-0").fill("5 days")
    dialog.locator("#doctor-rx-instructions-0").fill("No more than 4 g a day")
    dialog.get_by_role("button", name="Issue the prescription").click()
    expect(dialog.get_by_role("status").first).to_contain_text("Prescription issued")
    expect(dialog.get_by_role("link", name="Download the prescription (PDF)")).to_be_visible()
    assert_no_axe_violations(page)
    assert dash_failures == []

    # The patient: Documents tab → download → the PDF says what the doctor wrote.
    page.context.clear_cookies()
    login(v["email"])
    page.get_by_role("navigation", name="My space").get_by_role("link", name="Documents").click()
    expect(page.get_by_role("heading", name="Documents", level=1)).to_be_visible()
    assert_no_axe_violations(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Download the prescription")).click()
    data = open(download_info.value.path(), "rb").read()  # noqa: SIM115 - Playwright owns the file
    content = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for expected in ("Prescription", v["doctor_name"], f"RPPS {v['rpps']}", "Chloé Bernard", "17/05/1991",
                     "Paracetamol 1 g", "every 6 hours if needed", "No more than 4 g a day"):
        assert expected in content, expected
    assert "pharyngitis" not in content  # the private note stays the doctor's
    code = re.search(r"/verify/([A-Z0-9]{12})", content).group(1)
    page.goto(f"/verify/{code}")
    expect(page.get_by_role("status")).to_contain_text("issued through Doktu")
    expect(page.locator("main")).to_contain_text("C.B.")
    expect(page.locator("main")).not_to_contain_text("Chloé")
    assert_no_axe_violations(page)

    # The rating from the dashboard prompt, by keyboard-reachable controls.
    page.goto("/dashboard")
    form = page.locator("form.dk-rate")
    assert_no_axe_violations(page)
    form.get_by_role("radio", name="5 stars out of 5").check()
    form.get_by_label(re.compile("^Comment")).fill("Took the time to explain everything.")
    form.get_by_role("button", name=re.compile("^Send my rating")).click()
    expect(page.get_by_text("Thank you for your rating.")).to_be_visible()

    # The admin approves it in the console's Reviews section.
    page.context.clear_cookies()
    login("admin@demo.doktu.eu")
    page.goto("/admin/reviews")
    card = page.locator("article", has_text="Took the time to explain everything.")
    expect(card).to_be_visible()
    assert_no_axe_violations(page)
    card.get_by_label("Reason for your decision (required)").fill("Respectful, no health details")
    card.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_text("Published on the doctor's profile.")).to_be_visible()
    assert dash_failures == []

    # The profile shows it, first name and initial only.
    page.goto(f"/doctors/{v['doctor_id']}")
    reviews = page.locator("#reviews")
    expect(reviews).to_contain_text("Took the time to explain everything.")
    expect(reviews).to_contain_text("Chloé B.")
    expect(reviews).not_to_contain_text("Bernard")
    assert_no_axe_violations(page)
