"""The language switch (SPEC §20): a POST form with CSRF that sets the cookie and, for a signed-in
user, the account's language; sign-up keeps the language in use."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import User


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_switch_is_in_the_header_and_the_footer_of_every_page(client):
    page = client.get("/pricing").get_data(as_text=True)
    assert page.count('action="/language"') == 2
    for name in ("English", "Français", "Deutsch"):
        assert name in page
    assert 'id="dk-lang-header"' in page and 'id="dk-lang-footer"' in page
    assert '<option value="en" lang="en" selected>' in page


def test_switching_sets_the_cookie_and_comes_back_to_the_page(client):
    token = _token(client.get("/pricing").get_data(as_text=True))
    response = client.post("/language", data={"csrf_token": token, "language": "de", "next": "/pricing"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/pricing"
    assert "doktu_lang=de" in response.headers["Set-Cookie"]
    page = client.get("/pricing").get_data(as_text=True)
    assert '<html lang="de"' in page
    assert '<option value="de" lang="de" selected>' in page


def test_the_switch_needs_the_csrf_token_and_a_language_we_speak(client):
    assert client.post("/language", data={"language": "fr", "next": "/"}).status_code == 400
    token = _token(client.get("/").get_data(as_text=True))
    refused = client.post("/language", data={"csrf_token": token, "language": "es", "next": "/"})
    assert refused.status_code == 422
    assert "Choose a language from the list." in refused.get_data(as_text=True)


def test_an_outside_address_is_not_followed(client):
    token = _token(client.get("/").get_data(as_text=True))
    response = client.post("/language", data={"csrf_token": token, "language": "fr", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_a_signed_in_user_keeps_the_language_on_the_account(client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    token = _token(client.get("/dashboard").get_data(as_text=True))
    client.post("/language", data={"csrf_token": token, "language": "fr", "next": "/dashboard"})
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(User.locale).where(User.id == patient.user.id)) == "fr"
    client.delete_cookie("doktu_lang")  # another device: the account's language still wins
    page = client.get("/dashboard", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr"' in page


def test_a_user_who_never_chose_follows_the_browser(client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    page = client.get("/dashboard", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert '<html lang="de"' in page


def test_sign_up_keeps_the_language_in_use(client):
    client.set_cookie("doktu_lang", "fr")
    page = client.get("/signup").get_data(as_text=True)
    response = client.post("/signup", data={"csrf_token": _token(page), "email": "neu@example.org",
                                            "full_name": "Neu Person", "password": "Zebra-Quartz-91",
                                            "accept_terms": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(User.locale).where(User.email == "neu@example.org")) == "fr"


def test_the_portals_header_has_the_switch_and_the_page_language(client, make_user, login):
    doctor = make_user("doctor")
    login(doctor.email)
    page = client.get("/doctor/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert "Aller au contenu principal" in page
