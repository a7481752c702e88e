"""Languages (SPEC §20): the catalogs are complete, the locale is negotiated, Babel formats for it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from core import i18n
from portals.i18n_check import code_messages, missing_translations


def test_every_message_of_the_code_is_translated_in_every_catalog():
    assert code_messages(), "extraction found no message: babel.cfg or the keywords are wrong"
    assert missing_translations() == {"fr": [], "de": []}


def test_the_check_reports_a_message_missing_from_a_catalog(monkeypatch):
    monkeypatch.setattr("portals.i18n_check.code_messages", lambda: {"A message nobody translated"})
    report = missing_translations()
    assert report["fr"] == ["missing: A message nobody translated"]
    assert report["de"] == ["missing: A message nobody translated"]


@pytest.mark.parametrize(("header", "expected"), [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    ("de-DE,de;q=0.9,fr;q=0.95", "de"),
    ("en;q=0.2, fr;q=0.5", "fr"),
    ("es-ES,es;q=0.9", None),
    ("fr;q=0", None),
    ("", None),
    (None, None),
    ("*", None),
])
def test_accept_language_picks_the_best_language_we_speak(header, expected):
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize(("locale", "language"), [("fr-BE", "fr"), ("de_AT", "de"), ("FR", "fr"), ("es", "en"),
                                                  (None, "en"), ("", "en")])
def test_a_locale_maps_to_one_of_our_languages(locale, language):
    assert i18n.language_of(locale) == language


@pytest.mark.parametrize(("cents", "language", "text"), [
    (3500, "fr", "35,00\u00a0€"),
    (3500, "de", "35,00\u00a0€"),
    (3500, "en", "€35.00"),
    (123456789, "fr", "1\u202f234\u202f567,89\u00a0€"),
    (123456789, "de", "1.234.567,89\u00a0€"),
    (-3500, "fr", "-35,00\u00a0€"),
    (-3500, "en", "-€35.00"),
])
def test_money_is_formatted_for_the_language(cents, language, text):
    assert i18n.format_money(cents, "EUR", language) == text


def test_times_use_a_24_hour_clock_in_the_viewers_zone_across_a_dst_change():
    paris = ZoneInfo("Europe/Paris")
    # 29 March 2026: clocks go from 02:00 to 03:00 in Paris; 01:30 UTC is 03:30 local (CEST).
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert i18n.format_datetime(moment, paris, "fr") == "dimanche 29 mars 2026 à 03:30"
    assert i18n.format_datetime(moment, paris, "de") == "Sonntag, 29. März 2026, 03:30 Uhr"
    assert i18n.format_datetime(moment, paris, "en") == "Sunday 29 March 2026, 03:30"  # no comma after the day
    assert i18n.format_moment(moment, paris, "de") == "Sonntag, 29. März 2026 um 03:30 (Europe/Paris)"
    # the hour before the change is still CET: 00:30 UTC is 01:30 in Paris
    assert i18n.format_moment(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), paris, "fr") == \
        "dimanche 29 mars 2026 à 01:30 (Europe/Paris)"
    assert i18n.format_datetime(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), paris, "en").endswith("01:30")


@pytest.mark.parametrize(("cents", "language", "text"), [
    (123456789, "en", "€1,234,567.89"),
    (123456789, "fr", "1\u202f234\u202f567,89\xa0€"),
    (123456789, "de", "1.234.567,89\xa0€"),
    (-3500, "en", "-€35.00"),  # a refund
    (-3500, "fr", "-35,00\xa0€"),
    (-3500, "de", "-35,00\xa0€"),
])
def test_money_groups_thousands_and_keeps_the_sign_of_a_refund(cents, language, text):
    assert i18n.format_money(cents, "EUR", language) == text


@pytest.mark.parametrize(("cents", "language", "text"), [
    (3500, "en", "€35"), (3550, "en", "€35.50"), (3500, "fr", "35,00\xa0€"), (3500, "de", "35,00\xa0€"),
    (-3500, "en", "-€35"),
])
def test_the_web_drops_whole_cents_in_english_only(cents, language, text):
    assert i18n.format_money(cents, "EUR", language, short_whole=True) == text


def test_dates_and_language_names_are_written_in_the_language():
    assert i18n.format_date(date(2026, 12, 3), "fr") == "jeudi 3 décembre 2026"
    assert i18n.format_date(date(2026, 12, 3), "de", "medium") == "03.12.2026"
    assert [i18n.language_name(code) for code in ("de", "fr", "en", "it")] == \
        ["Deutsch", "Français", "English", "Italiano"]


def test_core_code_translates_for_a_given_language_with_placeholders():
    assert i18n.translate("fr", "Skip to main content") == "Aller au contenu principal"
    assert i18n.translate("es", "Skip to main content") == "Skip to main content"
