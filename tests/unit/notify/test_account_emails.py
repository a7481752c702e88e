"""SPEC §20: the account and onboarding emails (invitation, approval, data export, unverified-account
warning, the doctor's completion reminder, email and password changed) in English, French and German,
each whole in its language — no English sentence left in the French or German text or HTML."""

import re

import pytest

from core.notify.rendering import render

VALUES = dict(link="https://doktu.example/join/tok", doctor_name="Dr Élise Martin",
              portal_url="https://doktu.example/doctor/", until="mardi 3 mars 2026 à 14:45 (Europe/Paris)",
              person_name="Ada", days_left=3, login_url="https://doktu.example/login",
              when="3 mars 2026 à 14:45 (Europe/Paris)", new_email="ada.new@example.com")
MESSAGES = ["doctor_invitation", "doctor_approved", "data_export_ready", "unverified_warning",
            "consultation_to_complete", "email_changed", "password_changed"]
# Words that only an English sentence would hold (the values above carry none of them); case matters:
# German nouns such as "Link" and "Team" are German too.
ENGLISH = re.compile(r"\b(Hello|The|Your|You|If|Please|the|your|you|please|link|within|account|email|team|if|and"
                     r"|was|is|to|of)\b")
SIGN_OFF = {"en": "The Doktu team", "fr": "L'équipe Doktu", "de": "Ihr Doktu-Team"}
GREETING = {"en": "Hello", "fr": "Bonjour", "de": "Guten Tag"}


def _words(text: str) -> str:
    """The message without its values (links and addresses), which are the same in every language."""
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    for value in VALUES.values():
        text = text.replace(str(value), " ")
    return text


@pytest.mark.parametrize("name", MESSAGES)
@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_each_account_email_renders_whole_in_its_language(name, language):
    message = render(name, language, **VALUES)
    assert message.subject and "\n" not in message.subject
    assert "{{" not in message.text and "{%" not in message.text
    assert message.text.startswith(GREETING[language]) and message.text.rstrip().endswith(SIGN_OFF[language])
    assert message.html.startswith("<!doctype html>") and f'<html lang="{language}">' in message.html
    for link in re.findall(r"https?://\S+", message.text):
        assert f'href="{link}"' in message.html  # the HTML part (built from the text) keeps links clickable
    if language != "en":
        english = render(name, "en", **VALUES)
        assert message.subject != english.subject
        leftovers = ENGLISH.findall(_words(message.subject + "\n" + message.text))
        assert not leftovers, f"{name}/{language}: English words {leftovers}"
        html_body = re.sub(r"<[^>]+>", " ", message.html.split("<body", 1)[1])
        assert not ENGLISH.findall(_words(html_body)), f"{name}/{language}: English in the HTML part"


@pytest.mark.parametrize(("language", "one", "three"), [("en", "1 day.", "3 days."), ("fr", "1 jour.", "3 jours."),
                                                         ("de", "1 Tag gelöscht", "3 Tagen gelöscht")])
def test_the_deletion_warning_counts_days_in_the_language(language, one, three):
    assert one in render("unverified_warning", language, **{**VALUES, "days_left": 1}).text
    assert three in render("unverified_warning", language, **VALUES).text


@pytest.mark.parametrize(("locale", "greeting"), [("fr-BE", "Bonjour"), ("de_AT", "Guten Tag"), (None, "Hello"),
                                                  ("pt", "Hello")])
def test_a_raw_locale_reads_as_its_language(locale, greeting):
    """Callers may pass `users.locale` as stored: a region or nothing still finds the right folder."""
    assert render("password_changed", locale, **VALUES).text.startswith(greeting)
