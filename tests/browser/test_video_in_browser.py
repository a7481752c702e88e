"""Issue 7 done-when, in Chromium with fake media devices (a 640×480 camera and a microphone that
beeps about once a second) and a local STUN responder: the device test's steps pass, fail and retry;
then, from the patient dashboard within the window, the Join button opens the join page with a valid
signature. axe on the wizard and on the join page.

The fake devices in this environment: the camera gives the size the wizard asks for as ideal,
1280×720 (≥ 640×480 passes); the microphone is silent for ~0.45 s, then beeps at about −10 dBFS (passes
−45 dBFS); what the page plays never reaches the fake microphone, so the echo score is the
correlation of our chirp with the beep, about 0.06 (passes 0.3); the STUN responder answers like a
server behind a NAT (a srflx candidate)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import resources
from tests.browser.conftest import assert_no_axe_violations


def assert_no_violations(page: Page) -> None:
    assert_no_axe_violations(page, settle=False)  # live media streams never let the network idle

pytestmark = pytest.mark.browser
PASSWORD = "Quiet-Harbour-47-Lanterns!"
RUN_TIMEOUT = 25_000  # one whole run of the wizard takes about 5 s here
STEP_TITLES = {"camera": "Camera", "microphone": "Microphone", "bandwidth": "Connection speed", "echo": "Echo",
               "stun": "Video network"}
DENY_CAMERA = """(() => { const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => (c && c.video)
    ? Promise.reject(new DOMException("Permission denied", "NotAllowedError")) : ask(c); })();"""
NO_MICROPHONE = """(() => { const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.noMicrophone = true;
  navigator.mediaDevices.getUserMedia = (c) => (c && c.audio && window.noMicrophone)
    ? Promise.reject(new DOMException("Requested device not found", "NotFoundError")) : ask(c); })();"""




def step(dialog, name: str):
    return dialog.locator(f'[data-step="{name}"]')


def run_the_test(dialog) -> None:
    dialog.get_by_role("button", name=re.compile("^(Start the test|Run the whole test again)$")).click()
    expect(dialog.locator("[data-summary]")).not_to_have_text(re.compile(r"^(|Testing…)$"), timeout=RUN_TIMEOUT)


def expect_passed(dialog, *names: str) -> None:
    for name in names:
        expect(step(dialog, name).locator("[data-result]")).to_have_text(re.compile("^Passed: "))
        expect(step(dialog, name).get_by_role("button", name=re.compile("^Retry"))).to_be_hidden()


def test_every_step_passes_by_keyboard_and_the_echo_score_is_what_the_code_says(page: Page, login):
    login("doctor2@demo.doktu.eu", next_path="/devices")  # the doctor's "Test devices" comes here too
    expect(page).to_have_url(re.compile(r"/devices$"))
    opener = page.get_by_role("link", name="Start the device test")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Device test")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Start the test")).to_be_focused()
    for _ in range(12):  # the focus stays inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    dialog.get_by_role("button", name="Start the test").focus()
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^All checks passed"), timeout=RUN_TIMEOUT)
    expect_passed(dialog, *STEP_TITLES)
    expect(step(dialog, "camera").locator("[data-result]")).to_contain_text("1280 × 720")
    expect(step(dialog, "stun").locator("[data-result]")).to_have_text("Passed: Your network can connect video calls.")
    assert page.locator("[data-dk-device-test-dialog]").get_attribute("data-outcome") == "passed"
    for name in STEP_TITLES:  # every result is announced: a polite live region per step
        assert step(dialog, name).locator("[data-result]").get_attribute("role") == "status"
    assert_no_violations(page)

    scores = page.evaluate("""() => {
      const t = window.doktuDeviceTest, rate = 48000, ref = t.chirp(rate), n = ref.length;
      const echo = new Float32Array(n + 9000), tone = new Float32Array(n + 9000), noise = new Float32Array(n + 9000);
      let seed = 7; const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
      for (let i = 0; i < echo.length; i++) {
        noise[i] = 0.05 * rand();
        echo[i] = noise[i] + (i >= 4000 && i < 4000 + n ? 0.3 * ref[i - 4000] : 0);
        tone[i] = 0.3 * Math.sin(2 * Math.PI * 1000 * i / rate);
      }
      return {echo: t.echoScore(ref, echo), tone: t.echoScore(ref, tone), noise: t.echoScore(ref, noise),
              silence: t.echoScore(ref, new Float32Array(n + 9000)), limit: t.thresholds.maxEcho};
    }""")
    assert scores["echo"] > 0.8  # the microphone hears the reference chirp: fails
    assert scores["tone"] < 0.3 and scores["noise"] < 0.3 and scores["silence"] == 0  # none of it: passes
    assert scores["limit"] == 0.3

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    page.reload()
    expect(page.locator("[data-dk-last-test]")).to_contain_text("Your last test passed on")


def test_a_denied_camera_passes_as_audio_only(page: Page, login):
    page.add_init_script(DENY_CAMERA)
    login("patient@demo.doktu.eu", next_path="/devices")
    page.get_by_role("link", name="Start the device test").click()
    dialog = page.get_by_role("dialog", name="Device test")
    run_the_test(dialog)
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^Audio only: "))
    camera = step(dialog, "camera")
    expect(camera.locator("[data-result]")).to_have_text("Did not pass: Camera access is blocked.")
    expect(camera.locator("[data-hint]")).to_contain_text("Allow the camera for this site")
    expect(camera.get_by_role("button", name="Retry the camera check")).to_be_visible()
    expect_passed(dialog, "microphone", "bandwidth", "echo", "stun")
    assert page.locator("[data-dk-device-test-dialog]").get_attribute("data-outcome") == "audio_only"
    assert_no_violations(page)


def test_no_microphone_fails_then_a_retry_passes(page: Page, login):
    page.add_init_script(NO_MICROPHONE)
    login("patient@demo.doktu.eu", next_path="/devices")
    page.get_by_role("link", name="Start the device test").click()
    dialog = page.get_by_role("dialog", name="Device test")
    run_the_test(dialog)
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^Not ready yet: the microphone, echo checks"))
    expect(step(dialog, "microphone").locator("[data-result]")).to_have_text("Did not pass: No microphone was found.")
    expect(step(dialog, "echo").locator("[data-result]")).to_contain_text("Skipped: the echo check needs a working")
    expect_passed(dialog, "camera", "bandwidth", "stun")
    assert page.locator("[data-dk-device-test-dialog]").get_attribute("data-outcome") == "failed"
    assert_no_violations(page)

    page.evaluate("window.noMicrophone = false")  # the patient plugs a headset in
    dialog.get_by_role("button", name="Retry the microphone check").click()
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^All checks passed"), timeout=RUN_TIMEOUT)
    expect_passed(dialog, *STEP_TITLES)
    expect(step(dialog, "microphone").get_by_role("heading")).to_be_focused()  # not lost with the hidden retry


BLOCKED_STUN = """(() => { const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config) {
    const servers = ((config && config.iceServers) || []).map((s) => ({ ...s, urls: "stun:127.0.0.1:9" }));
    return new Native({ ...(config || {}), iceServers: servers }); };
  window.RTCPeerConnection.prototype = Native.prototype; })();"""
JARGON = re.compile(r"dBFS|STUN|echo score|UDP", re.I)


def test_a_blocked_video_network_is_a_warning_and_the_verdict_is_in_plain_words_on_screen(page: Page, login):
    page.add_init_script(BLOCKED_STUN)  # a network that drops what the STUN check sends
    login("patient@demo.doktu.eu", next_path="/devices")
    page.get_by_role("link", name="Start the device test").click()
    dialog = page.get_by_role("dialog", name="Device test")
    run_the_test(dialog)
    summary = dialog.locator("[data-summary]")
    expect(summary).to_have_text(re.compile("^All checks passed"))
    expect(step(dialog, "stun").locator("[data-result]")).to_have_text(
        "Note: Your network may block direct video; we will relay it.")
    assert page.locator("[data-dk-device-test-dialog]").get_attribute("data-outcome") == "passed"
    box = summary.bounding_box()  # the verdict is on screen at 1280×800, without scrolling
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 800
    for name in STEP_TITLES:  # patient words; the numbers stay behind "Details"
        assert not JARGON.search(step(dialog, name).locator("[data-result]").inner_text())
    assert not JARGON.search(summary.inner_text())
    figures = step(dialog, "microphone").locator("[data-figures]")
    expect(figures.locator("[data-figures-text]")).to_be_hidden()
    figures.get_by_text("Details").click()
    expect(figures.locator("[data-figures-text]")).to_contain_text("dBFS")
    assert_no_violations(page)


def sign_up(page: Page) -> str:
    email = f"video-{uuid.uuid4().hex[:8]}@tests.doktu.eu"
    page.goto("/signup")
    page.get_by_label("Full name").fill("Vera Video")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#accept_terms").check()  # SPEC §21: never pre-ticked
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/onboarding"))
    page.get_by_label("Date of birth").fill("1990-02-14")
    page.get_by_label("Prefer not to say").check()
    page.get_by_role("button", name="Save my profile").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    return email


def book_in_three_minutes(server_url: str, email: str) -> uuid.UUID:
    """A confirmed consultation starting 3 minutes from now, with a doctor free then (written to the
    live server's database directly: booking through the site needs 60 minutes' notice)."""
    name = f"{resources.db_name()}_browser"
    engine = create_engine(make_url(server_url).set(database=name))
    try:
        with engine.begin() as conn:
            return conn.execute(text("""
                INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
                SELECT (SELECT d.id FROM doctors d WHERE NOT EXISTS (
                            SELECT 1 FROM appointments a WHERE a.doctor_id = d.id
                               AND a.status IN ('pending', 'paid', 'confirmed')
                               AND a.start_at BETWEEN now() - interval '50 minutes' AND now() + interval '55 minutes')
                         ORDER BY d.number DESC LIMIT 1),
                       p.id, date_trunc('minute', now()) + interval '4 minutes',
                       date_trunc('minute', now()) + interval '34 minutes', 'confirmed'
                  FROM patients p JOIN users u ON u.id = p.user_id WHERE u.email = :email
                RETURNING id"""), {"email": email}).scalar_one()
    finally:
        engine.dispose()


def test_from_the_dashboard_test_devices_then_join_the_room(page: Page, live_doktu, server_url):
    email = sign_up(page)
    appointment = book_in_three_minutes(server_url, email)
    page.reload()
    card = page.locator(".dk-appointment").filter(has=page.locator(f'[data-dk-join="{appointment}"]'))
    # It starts in about 4 minutes: the room is already open (issue 24: not "opens 5 minutes before").
    expect(card.get_by_role("status")).to_contain_text("The video room is open")
    join = card.get_by_role("button", name=re.compile("^Join video for the consultation of "))
    expect(join).to_be_disabled()
    expect(join).to_have_accessible_description(re.compile("Run the device test first"))
    assert_no_violations(page)

    tester = card.get_by_role("link", name=re.compile("^Test devices for the consultation of "))
    tester.click()
    dialog = page.get_by_role("dialog", name="Device test")
    run_the_test(dialog)
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^All checks passed"))
    expect_passed(dialog, *STEP_TITLES)
    assert_no_violations(page)
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(tester).to_be_focused()

    link = card.get_by_role("link", name=re.compile("^Join video for the consultation of "))
    expect(link).to_have_attribute("href", f"/visit/{appointment}")  # enabled by GET …/join, no reload
    expect(card.locator("[data-dk-join-why]")).to_have_text("The video room is open: your device test passed.")
    link.click()
    expect(page).to_have_url(re.compile(rf"/visit/{appointment}$"))
    # VIDEO_PROVIDER=webrtc (the default): the consultation room, no JWT and nothing of Zoom's.
    expect(page.get_by_role("heading", name=re.compile("^Consultation with "))).to_be_visible()
    expect(page.get_by_role("button", name="Join the consultation")).to_be_enabled()
    expect(page.locator("[data-room-readiness]")).to_have_text("Your devices are ready.")
    assert page.locator("script[src*='zoom']").count() == 0 and page.locator("[data-dk-signature]").count() == 0
    assert_no_violations(page)
