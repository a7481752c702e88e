"""Message templates: plain text and HTML for each message, in the recipient's language (English
as the fallback) and time zone, with escaping only where HTML needs it."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.notify.email import Email, build_mime
from core.notify.outbox import Attachment
from core.notify.rendering import (
    TEMPLATES,
    format_money,
    format_when,
    language_of,
    render,
    render_sms,
    zone_of,
)

VALUES = dict(patient_name="Ada & Bob <b>", doctor_name="Dr Paris", zone_name="Europe/Paris",
              when="Tuesday 3 March 2026, 14:00", previous_when="Tuesday 3 March 2026, 12:00", by="doctor",
              join_url="https://doktu.example/visit/1", devices_url="https://doktu.example/devices",
              dashboard_url="https://doktu.example/dashboard", book_url="https://doktu.example/doctors",
              settings_url="https://doktu.example/dashboard/settings#notifications",
              portal_url="https://doktu.example/doctor/", refund_card="€35.00", refund_credit="", late_credit="€10.00",
              lead="24h", receipt_url="https://doktu.example/dashboard/billing/receipts/1.pdf",
              title="Prescription", documents_url="https://doktu.example/dashboard/documents",
              rate_url="https://doktu.example/dashboard#rate")
MESSAGES = ["confirmed", "rescheduled", "cancelled", "reminder", "doctor_booked", "doctor_rescheduled",
            "doctor_cancelled", "document_issued", "rate_consultation"]


def languages() -> list[str]:
    return sorted(p.name for p in Path(TEMPLATES).iterdir() if p.is_dir())


@pytest.mark.parametrize("language", languages())
@pytest.mark.parametrize("name", MESSAGES)
def test_every_message_renders_a_subject_text_and_html(name, language):
    message = render(name, language, **VALUES)
    assert message.subject and "\n" not in message.subject and "{" not in message.subject
    assert message.text.strip() and "{{" not in message.text and "{%" not in message.text
    assert message.html.startswith("<!doctype html>") and "{{" not in message.html


@pytest.mark.parametrize("language", languages())
def test_the_sms_reminder_is_one_short_line(language):
    text = render_sms("reminder", language, **VALUES)
    assert "\n" not in text and len(text) < 320 and VALUES["join_url"] in text


def test_html_is_escaped_and_text_is_not():
    message = render("confirmed", "en", **VALUES)
    assert "Hello Ada & Bob <b>," in message.text
    assert "Ada &amp; Bob &lt;b&gt;" in message.html and "<b>," not in message.html


def test_a_language_without_templates_reads_english():
    assert language_of("fr-BE") == "fr" and language_of("FR") == "fr" and language_of("de-AT") == "de"
    assert language_of("es") == "en" and language_of(None) == "en" and language_of("") == "en"


def test_every_language_has_every_message():
    """SPEC §20: no recipient falls back to English because a translation is missing."""
    english = sorted(p.name for p in (Path(TEMPLATES) / "en").iterdir() if p.suffix == ".txt")
    for language in languages():
        assert sorted(p.name for p in (Path(TEMPLATES) / language).iterdir() if p.suffix == ".txt") == english


@pytest.mark.parametrize(("language", "hello", "subject"), [
    ("fr", "Bonjour", "Nouvelle consultation"), ("de", "Guten Tag", "Neue Sprechstunde"),
])
def test_a_message_translated_as_text_gets_an_html_part_in_its_language(language, hello, subject):
    message = render("doctor_booked", language, **VALUES)
    assert message.subject.startswith(subject) and message.text.startswith(hello)
    assert f'<html lang="{language}">' in message.html and hello in message.html
    assert '<a href="https://doktu.example/doctor/">https://doktu.example/doctor/</a>' in message.html
    assert "Ada &amp; Bob &lt;b&gt;" in message.html


FOOTERS = {
    "en": "You receive this email because you have a Doktu account. Doktu, tele-consultations in Europe.",
    "fr": "Vous recevez cet e-mail parce que vous avez un compte Doktu. Doktu, la téléconsultation en Europe.",
    "de": "Sie erhalten diese E-Mail, weil Sie ein Doktu-Konto haben. Doktu, Videosprechstunden in Europa.",
}


@pytest.mark.parametrize("language", sorted(FOOTERS))
@pytest.mark.parametrize("name", ["confirmed", "doctor_booked"])  # an HTML template; one written as text only
def test_one_layout_serves_every_language_with_its_footer_from_the_catalogs(name, language):
    """One `_layout.html` for all languages (each `<language>/_layout.html` is it): the page's
    language and the footer's words follow the message's language."""
    message = render(name, language, **VALUES)
    assert f'<html lang="{language}">' in message.html
    assert f'<p style="margin:16px 0 0;font-size:13px;color:#4a5568;">{FOOTERS[language]}</p>' in message.html
    assert not any((Path(TEMPLATES) / folder / "_layout.html").exists() for folder in languages())
    if (Path(TEMPLATES) / language / "reminder.html").exists():  # a message's own footer stays its own
        assert FOOTERS[language] not in render("reminder", language, **VALUES).html


def test_when_reads_in_the_zone_and_language_with_a_24_hour_clock():
    moment = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    assert format_when(moment, ZoneInfo("Europe/Paris"), "en") == "Tuesday 3 March 2026, 14:00"
    assert format_when(moment, ZoneInfo("Europe/Paris"), "fr") == "mardi 3 mars 2026 à 14:00"
    assert format_when(moment, ZoneInfo("Europe/Paris"), "de") == "Dienstag, 3. März 2026, 14:00 Uhr"
    assert format_when(moment, ZoneInfo("America/Los_Angeles"), "en") == "Tuesday 3 March 2026, 05:00"
    summer = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # the clocks changed that night
    assert format_when(summer, ZoneInfo("Europe/Paris"), "en") == "Sunday 29 March 2026, 14:00"


def test_the_zone_falls_back_from_the_recipient_to_the_doctor_to_paris():
    assert zone_of("Asia/Tokyo", "Europe/Berlin").key == "Asia/Tokyo"
    assert zone_of(None, "Europe/Berlin").key == "Europe/Berlin"
    assert zone_of("Not/AZone", None).key == "Europe/Paris"
    assert zone_of(None, None).key == "Europe/Paris"


def test_money_in_each_language():
    assert format_money(3500, "EUR", "en") == "€35.00"
    assert format_money(123456, "EUR", "fr") == "1\u202f234,56\xa0€"  # Babel: no break before the sign
    assert format_money(123456, "EUR", "de") == "1.234,56\xa0€"
    assert format_money(-3500, "EUR", "de") == "-35,00\xa0€"


def test_an_invite_travels_as_a_text_calendar_part_with_its_method():
    ics = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n"
    message = build_mime(Email("ada@patients.doktu.eu", "Cancelled", "text", "<p>html</p>",
                               (Attachment("cancel.ics", "text/calendar; method=CANCEL; charset=UTF-8", ics),)))
    parts = list(message.walk())
    calendar = next(p for p in parts if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "CANCEL" and calendar.get_filename() == "cancel.ics"
    assert calendar.get_content_charset() == "utf-8"
    assert [p.get_content_type() for p in parts if not p.is_multipart()] == ["text/plain", "text/html",
                                                                            "text/calendar"]
