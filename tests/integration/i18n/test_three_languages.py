"""Every public page, the patient dashboard and each email in French, English and German (SPEC §20):
the right `lang`, no English left where a translation exists, Babel's formats."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core import config
from core.notify.rendering import TEMPLATES, format_money, format_when, render, render_sms

PUBLIC_PAGES = ["/", "/doctors", "/how-it-works", "/pricing", "/blog", "/blog/preparing-for-your-video-consultation",
                "/legal/terms", "/legal/privacy", "/login", "/signup", "/forgot", "/contact", "/logout",
                "/no-such-page"]
LANGUAGES = ("en", "fr", "de")
# Strings of the frame every page has, in each language: their presence proves the page was translated.
FRAME = {"en": ("How it works", "Skip to main content", "Contact us"),
         "fr": ("Comment ça marche", "Aller au contenu principal", "Nous contacter"),
         "de": ("So funktioniert's", "Zum Hauptinhalt springen", "Kontakt")}
# English sentences of those pages that must never show in French or German.
ENGLISH = ("Skip to main content", "How it works", "Find a doctor", "Log in", "Create your account",
           "Forgot your password?", "Contact us", "Page not found", "Last updated", "min read", "Our doctors",
           "See a doctor by video, in minutes", "Search", "Sign out of Doktu", "Single consultation")


def visible_text(page: str) -> str:
    """The page's text without scripts, styles and tags (attributes are checked on their own)."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r'(?s)<option value="(en|fr|de)" lang="\1"[^>]*>.*?</option>', " ", page)  # the switch names each language in itself
    return re.sub(r"\s+", " ", re.sub(r"(?s)<[^>]+>", " ", page))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_in_each_language(client, path, language):
    client.set_cookie("doktu_lang", language)
    response = client.get(path)
    assert response.status_code in (200, 404)
    page = response.get_data(as_text=True)
    assert f'<html lang="{language}"' in page
    text = visible_text(page)
    for expected in FRAME[language]:
        assert expected in page, (path, language, expected)
    if language != "en":
        for english in ENGLISH:
            assert english not in text, (path, language, english)


@pytest.fixture
def content_of(monkeypatch, tmp_path):
    """A content folder holding only the given files of the repository's (every page of the real
    one is translated now, so the fallback is shown with a page that has no translation)."""

    def use(*files: str) -> None:
        for name in files:
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(config.default_content_dir() / name, target)
        real = config.current()
        monkeypatch.setattr(config, "current", lambda: dataclasses.replace(real, content_dir=tmp_path))

    return use


@pytest.mark.parametrize(("language", "fallback"), [("fr", "Cette page n'est disponible qu'en English."),
                                                     ("de", "Diese Seite ist nur auf English verfügbar.")])
def test_a_text_written_in_english_only_says_so(client, content_of, language, fallback):
    content_of("legal/hipaa.md")
    client.set_cookie("doktu_lang", language)
    page = client.get("/legal/hipaa").get_data(as_text=True)
    assert fallback in page and 'data-dk-fallback="en"' in page
    client.set_cookie("doktu_lang", "en")
    assert "data-dk-fallback" not in client.get("/legal/hipaa").get_data(as_text=True)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ("€35", "Single consultation", "per month")),
    ("fr", ("35,00\xa0€", "Consultation à l'unité", "par mois")),
    ("de", ("35,00\xa0€", "Einzelne Sprechstunde", "pro Monat")),
])
def test_prices_follow_the_language(client, language, expected):
    client.set_cookie("doktu_lang", language)
    page = client.get("/pricing").get_data(as_text=True)
    for text_ in expected:
        assert text_ in page, text_


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_in_each_language(client, make_user, login, language):
    patient = make_user("patient", full_name="Chloé Bernard")
    login(patient.email)
    client.set_cookie("doktu_lang", language)
    for path in ("/dashboard", "/dashboard/settings", "/onboarding"):
        page = client.get(path).get_data(as_text=True)
        assert f'<html lang="{language}"' in page, path
        text = visible_text(page)
        if language != "en":
            for english in ("Upcoming", "Past and cancelled", "My appointments", "Settings", "Time zone",
                            "Save time zone", "Your health profile", "Date of birth", "Appointments"):
                assert english not in text, (path, english)
    expected = {"en": "Hello Chloé Bernard", "fr": "Bonjour Chloé Bernard", "de": "Hallo Chloé Bernard"}[language]
    assert expected in client.get("/dashboard").get_data(as_text=True)


VALUES = dict(patient_name="Chloé", person_name="Chloé", doctor_name="Dr Paris", zone_name="Europe/Paris",
              when="x", previous_when="y", by="doctor", join_url="https://doktu.example/visit/1",
              devices_url="https://doktu.example/devices", dashboard_url="https://doktu.example/dashboard",
              book_url="https://doktu.example/doctors", settings_url="https://doktu.example/settings",
              portal_url="https://doktu.example/doctor/", refund_card="35", refund_credit="", late_credit="10",
              lead="24h", receipt_url="https://doktu.example/r.pdf", title="Rezept",
              documents_url="https://doktu.example/documents", rate_url="https://doktu.example/rate",
              link="https://doktu.example/l", amount="35", why="duplicate", credit=False, plan_name="Basic",
              consultations_had=1, refunded=True, billing_url="https://doktu.example/billing", topic="T",
              answer="A", guest=False, minutes=20, waiting_url="https://doktu.example/now", until="z",
              new_email="new@example.com", days_left=3, login_url="https://doktu.example/login")
GREETING = {"en": "Hello", "fr": "Bonjour", "de": "Guten Tag"}
SIGN_OFF = {"en": "The Doktu team", "fr": "L'équipe Doktu", "de": "Ihr Doktu-Team"}


def message_names() -> list[str]:
    return sorted(p.name.removesuffix(".txt") for p in (TEMPLATES / "en").glob("*.txt")
                  if not p.name.endswith(".sms.txt"))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", message_names())
def test_each_email_in_each_language(name, language):
    message = render(name, language, **VALUES)
    assert message.text.startswith(GREETING[language]), (name, message.text[:40])
    if name != "password_reset":  # a security notice, signed by nobody
        assert SIGN_OFF[language] in message.text.replace("’", "'")
    assert f'<html lang="{language}">' in message.html
    if language != "en":
        assert "The Doktu team" not in message.text and "Hello" not in message.text


@pytest.mark.parametrize(("language", "expected"), [("en", "in 24 hours"), ("fr", "dans 24 heures"),
                                                     ("de", "in 24 Stunden")])
def test_the_sms_in_each_language(language, expected):
    assert expected in render_sms("reminder", language, **VALUES)


def test_email_dates_and_money_on_a_dst_day():
    """29 March 2026: Paris changes to summer time at 02:00; 01:30 UTC is 03:30 there."""
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    assert format_when(moment, paris, "en") == "Sunday 29 March 2026, 03:30"
    assert format_when(moment, paris, "fr") == "dimanche 29 mars 2026 à 03:30"
    assert format_when(moment, paris, "de") == "Sonntag, 29. März 2026, 03:30 Uhr"
    assert format_money(-123450, "EUR", "de") == "-1.234,50\xa0€"


def test_a_translated_article_is_served_in_the_readers_language(client, content_of):
    content_of("blog/tele-consultation-or-emergency-services.md", "blog/tele-consultation-or-emergency-services.fr.md")
    client.set_cookie("doktu_lang", "fr")
    page = client.get("/blog/tele-consultation-or-emergency-services").get_data(as_text=True)
    assert "Téléconsultation ou urgences : comment choisir" in page and "data-dk-fallback" not in page
    assert "Appelez le 112 tout de suite" in page
    client.set_cookie("doktu_lang", "de")  # no German text here: the English one, said so
    page = client.get("/blog/tele-consultation-or-emergency-services").get_data(as_text=True)
    assert "Tele-consultation or emergency services" in page and 'data-dk-fallback="en"' in page
    assert '<h1 id="dk-post-title" lang="en">' in page


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize("path", ["/legal/terms", "/legal/privacy", "/legal/gdpr", "/legal/hipaa", "/blog",
                                  "/blog/how-doktu-protects-your-health-data",
                                  "/blog/preparing-for-your-video-consultation",
                                  "/blog/tele-consultation-or-emergency-services"])
def test_every_content_page_is_written_in_each_language(client, path, language):
    """Issue 18: every legal page and blog post has its French and German text (no fallback)."""
    client.set_cookie("doktu_lang", language)
    page = client.get(path).get_data(as_text=True)
    assert "data-dk-fallback" not in page and 'lang="en"' not in page.split("<body", 1)[1].replace(
        '<option value="en" lang="en"', ""), (path, language)
