"""The waitlist in Chromium (SPEC §17): a patient asks on a doctor's booking card to be told of an
earlier time; another patient gives their held time back; the real `doktu worker` runs the owed
offer; the first patient sees the offer on the dashboard and books it."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import assert_no_axe_violations
from tests.live_browser import DOKTU, ROOT

STRONG_PASSWORD = "Quiet-Harbour-47-Lanterns!"


def sign_up(page: Page, name: str) -> str:
    email = f"wl-{uuid.uuid4().hex[:8]}@tests.doktu.eu"
    page.goto("/signup")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.locator("#accept_terms").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    return email


@pytest.fixture
def worker(live_doktu, tmp_path):
    """The real `doktu worker` on the live server's database and Redis: it runs what the server owes."""
    log = tmp_path / "worker.log"
    env = {**live_doktu.env, "DOKTU_ENV": "test", "STRIPE_WEBHOOK_SECRET": "whsec_test_secret"}
    with log.open("w") as out:
        proc = subprocess.Popen([str(DOKTU), "worker"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]


def test_a_patient_asks_for_an_earlier_time_and_books_the_one_that_frees_up(
        page: Page, browser: Browser, base_url, worker):
    page.goto("/")
    profile = page.locator(".dk-doctor__name a").nth(3).get_attribute("href")
    doctor_id = profile.rsplit("/", 1)[1]

    # Someone else holds a time with this doctor (the last day of the strip: far enough ahead).
    rival = browser.new_context(base_url=base_url).new_page()
    sign_up(rival, "Rival Patient")
    rival.goto(profile)
    rival.locator("[data-dk-day]:not(.dk-day--empty)").last.click()
    expect(rival.locator("[data-dk-slots]")).to_have_attribute("aria-busy", "false")
    start = rival.locator("[data-dk-slots] input[name=start]").first.input_value()
    held = rival.evaluate("""async ([doctorId, start]) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch('/api/appointments/create-pending', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRFToken': csrf}, body: JSON.stringify({doctorId, start})});
        return (await r.json()).id; }""", [doctor_id, start])

    # The patient asks, from the booking card, to be told of an earlier time.
    sign_up(page, "Waiting Patient")
    page.goto(profile)
    card = page.locator("#waitlist")
    expect(card.get_by_label("Tell me if an earlier time frees up, until")).to_be_visible()
    assert_no_axe_violations(page)
    card.get_by_role("button", name="Tell me").click()
    expect(page.get_by_text("we will email you if an earlier time")).to_be_visible()
    expect(card.get_by_role("button", name="Stop telling me")).to_be_visible()

    # The rival gives the time back: a freed start, owed to the waitlist, run by the worker.
    rival.goto(f"/dashboard/appointments/{held}/cancel")
    rival.get_by_role("button", name=re.compile("Give back this time")).click()
    # Its answer before the context closes: closing at once could abort the POST on a loaded box.
    expect(rival).to_have_url(re.compile(r"/dashboard$"))
    rival.context.close()

    deadline = time.monotonic() + 90  # the worker on a loaded box; on a quiet one, a few seconds
    page.goto("/dashboard")
    offer = page.locator("[data-dk-waitlist-offer]")
    while not offer.count() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(offer).to_contain_text("An earlier time has freed up with")
    expect(offer).to_contain_text("It is held for you until")
    assert_no_axe_violations(page)

    page.get_by_role("button", name="Book this time").click()
    expect(page).to_have_url(re.compile(r"/checkout/[0-9a-f-]{36}$"))
    expect(page.get_by_text("This time is held for you until")).to_be_visible()
