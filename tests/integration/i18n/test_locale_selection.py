"""Languages on the web (SPEC §20): user setting → cookie → Accept-Language → English; `<html lang>`."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("accept", "lang", "skip_link"), [
    ("fr-FR,fr;q=0.9", "fr", "Aller au contenu principal"),
    ("de-DE,de;q=0.9,en;q=0.5", "de", "Zum Hauptinhalt springen"),
    ("es-ES", "en", "Skip to main content"),
])
def test_the_browser_language_chooses_the_page_language(client, accept, lang, skip_link):
    page = client.get("/", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    assert skip_link in page


def test_the_language_cookie_wins_over_the_browser(client):
    client.set_cookie("doktu_lang", "de")
    page = client.get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert '<html lang="de"' in page


def test_a_forged_cookie_falls_back_to_the_browser(client):
    client.set_cookie("doktu_lang", "xx<script>")
    page = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr"' in page
