"""SPEC §20 for what scripts write (issue 18): the device test and the consultation room in French
and German in Chromium with fake devices — status texts, live regions, button and aria labels come
from the catalogs through the page's `<script type="application/json" data-dk-i18n>`, numbers are
written for the page's language; axe finds nothing. The user chooses the language with the header's
switch (saved on their account), as a user would."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_room_in_browser import book_visit, sign_up
from tests.browser.test_video_in_browser import DENY_CAMERA, assert_no_violations, step

pytestmark = pytest.mark.browser
RUN_TIMEOUT = 25_000
# Words of the wizard's English that no French or German text of it contains.
ENGLISH = re.compile(r"\b(Passed|Retry|check|Waiting|Testing|Your|the|and)\b")


def choose_language(page: Page, language: str) -> None:
    page.goto("/dashboard")
    with page.expect_navigation():
        page.locator("#dk-lang-header").select_option(language)  # site.js applies it at once
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_the_room_and_its_device_test_speak_french(page: Page, server_url: str):
    page.context.grant_permissions(["camera", "microphone"])
    email = sign_up(page)
    choose_language(page, "fr")
    appointment, _doctor = book_visit(server_url, email, "8 minutes")  # the waiting room, then the test
    page.goto(f"/visit/{appointment}")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.locator("script[data-dk-i18n]").count() == 1  # the device test's translations
    # room.js counts down in French (its strings, translated by the page).
    expect(page.locator("[data-room-countdown]")).to_have_text(re.compile(r"^La salle ouvre dans \d+:\d\d\.$"))
    page.get_by_role("link", name="Tester mon appareil").click()
    dialog = page.get_by_role("dialog", name="Test de l'appareil")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Fermer le test de l'appareil")).to_be_visible()
    expect(step(dialog, "camera").locator("[data-result]")).to_have_text("Pas encore vérifié.")
    dialog.get_by_role("button", name="Lancer le test").click()
    expect(dialog.locator("[data-summary]")).to_have_text(
        "Toutes les vérifications ont réussi. Vous êtes prêt : ce test permet de rejoindre une consultation "
        "pendant 24 heures.", timeout=RUN_TIMEOUT)
    for name in ("camera", "microphone", "bandwidth", "echo", "stun"):
        expect(step(dialog, name).locator("[data-result]")).to_have_text(re.compile("^Réussi : "))
    expect(step(dialog, "camera").locator("[data-result]")).to_have_text("Réussi : Votre caméra fonctionne : 1280 × 720.")
    expect(step(dialog, "stun").locator("[data-result]")).to_have_text("Réussi : Votre réseau permet les appels vidéo.")
    expect(dialog.get_by_role("button", name="Refaire tout le test")).to_be_visible()
    step(dialog, "bandwidth").locator("summary").click()  # the figures, written the French way
    expect(step(dialog, "bandwidth").locator("[data-figures-text]")).to_have_text(
        re.compile(r"^[\d\s,]+ Mbps en réception, [\d\s,]+ Mbps en envoi \(au moins 1,2 Mbps dans chaque sens\)\.$"))
    text = dialog.inner_text()
    assert not ENGLISH.findall(text), ENGLISH.findall(text)
    assert_no_violations(page)


def test_a_denied_camera_is_explained_in_german(page: Page):
    page.add_init_script(DENY_CAMERA)
    page.context.grant_permissions(["camera", "microphone"])
    sign_up(page)
    choose_language(page, "de")
    page.goto("/devices")
    page.locator("[data-dk-device-test]").first.click()
    dialog = page.get_by_role("dialog", name="Gerätetest")
    dialog.get_by_role("button", name="Test starten").click()
    expect(dialog.locator("[data-summary]")).to_have_text(re.compile("^Nur Ton: "), timeout=RUN_TIMEOUT)
    camera = step(dialog, "camera")
    expect(camera.locator("[data-result]")).to_have_text("Nicht bestanden: Der Zugriff auf die Kamera ist blockiert.")
    expect(camera.locator("[data-hint]")).to_have_text(re.compile("^So beheben Sie es: Erlauben Sie die Kamera"))
    expect(camera.get_by_role("button", name="Prüfung wiederholen: Kamera")).to_be_visible()
    expect(step(dialog, "microphone").locator("[data-result]")).to_have_text(
        "Bestanden: Ihr Mikrofon funktioniert: Wir hören Sie deutlich.")
    expect(dialog.get_by_label("Mikrofonpegel")).to_be_visible()
    step(dialog, "microphone").locator("summary").click()
    expect(step(dialog, "microphone").locator("[data-figures-text]")).to_have_text(
        re.compile(r"^Lautester Pegel −\d+ dBFS \(mehr als −45 dBFS nötig\)\.$"))
    text = dialog.inner_text()
    assert not ENGLISH.findall(text), ENGLISH.findall(text)
    assert_no_violations(page)
