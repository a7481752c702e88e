"""SPEC §20 for scripts (issue 18): what device-test.js, visit.js and the other scripts write comes
from the gettext catalogs — extracted from the scripts by `doktu i18n update`, embedded by the page
as `<script type="application/json" data-dk-i18n>` in the page's language — and no sentence is left
in a script outside `_("…")`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portals.js_strings import STATIC, script_messages, translations_for

SCRIPTS = ["js/device-test.js", "js/visit.js", "js/walkin.js", "js/room.js", "js/booking-card.js", "js/password-meter.js"]
# Same word in both languages (a loan word or a term of the trade): allowed to stay as in English.
SAME = {"de": {"Details", "Echo", "%(count)s s"}, "fr": {"%(count)s min", "%(count)s s"}}
JSON_BLOCK = re.compile(r'<script type="application/json" data-dk-i18n>(.*?)</script>', re.S)


def test_the_extractor_finds_the_device_tests_messages():
    messages = script_messages("js/device-test.js")
    assert "Start the test" in messages and "Passed: %(result)s" in messages and len(messages) > 70
    assert "Could not join the video room (%(reason)s). Reload the page to try again." in script_messages("js/visit.js")
    with pytest.raises(ValueError):
        script_messages("../i18n.py")


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_message_of_the_scripts_is_translated(script, language):
    table = translations_for(language, script)
    untranslated = [m for m in script_messages(script) if m not in table and m not in SAME[language]]
    assert not untranslated, untranslated
    for english, translated in table.items():  # the same placeholders, so the script can fill them
        assert sorted(re.findall(r"%\((\w+)\)s", english)) == sorted(re.findall(r"%\((\w+)\)s", translated))


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_sentence_is_left_outside_the_catalogs(script):
    """A string literal that reads as an English sentence or label must be a `_("…")` message."""
    source = (STATIC / script).read_text()
    source = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)  # comments may say anything
    literals = re.findall(r'(?<!_\()"((?:[^"\\\n]|\\.)*)"', source)
    sentences = [s for s in literals if re.match(r"^[A-Z][a-z']+ [a-z]", s) or re.match(r"^[a-z]+ [a-z]+ [a-z]+", s)]
    assert not sentences, sentences


def page_strings(html: str) -> dict:
    [block] = JSON_BLOCK.findall(html)
    assert "<" not in block  # escaped for a script element
    return json.loads(block)


def test_the_devices_page_embeds_the_french_strings_and_none_in_english(client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    client.set_cookie("doktu_lang", "fr")
    html = client.get("/devices").get_data(as_text=True)
    assert '<html lang="fr"' in html
    strings = page_strings(html)
    assert strings["Start the test"] == "Lancer le test"
    assert strings["Passed: %(result)s"] == "Réussi : %(result)s"
    assert html.index("data-dk-i18n") < html.index("js/device-test.js")  # there before the script runs
    client.set_cookie("doktu_lang", "en")
    assert not JSON_BLOCK.findall(client.get("/devices").get_data(as_text=True))  # English: the script's own


def test_the_room_page_embeds_the_german_strings(client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    client.set_cookie("doktu_lang", "de")
    html = client.get("/dashboard").get_data(as_text=True)
    assert page_strings(html)["Run the whole test again"] == "Den ganzen Test wiederholen"


def test_the_scripts_are_in_the_extraction_config():
    config = (Path(__file__).resolve().parents[3] / "babel.cfg").read_text()
    assert "[javascript: portals/static/js/**.js]" in config
