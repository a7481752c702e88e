"""The doctor's side in French and German (SPEC §20, issue 18): the portal's layout and every
panel a callback fills, the join and onboarding pages — no English message left where a
translation exists, dates and times through Babel on a 24 h clock, refusals in the doctor's
language (their codes and the API's English message unchanged)."""

from __future__ import annotations

import json
import re

import pytest

from core.documents import issuing
from core.documents.issuing import PrescriptionLine
from core.errors import ValidationFailed
from core.messaging import messages
from core.scheduling import weekly
from portals.doctor import callbacks as cb
from portals.doctor import documents_panel
from tests.i18n_leftovers import leftovers, texts
from tests.integration.doctor_portal.conftest import appointment, deferred, patient  # noqa: F401
from tests.integration.i18n.test_three_languages import visible_text
from tests.integration.scheduling.conftest import clock_at, doctor, paris  # noqa: F401

TRANSLATED = ("fr", "de")


@pytest.fixture
def practice(doctor, patient, appointment, deferred):  # noqa: F811
    """Noor seen this morning (a prescription issued), Sam booked today at 10:00, a message from Noor."""
    noor, sam = patient("Noor Haddad"), patient("Sam Berg")
    seen = appointment(doctor, noor, paris(2, 6), status="completed")
    booked = appointment(doctor, sam, paris(2, 10))
    issuing.issue_prescription(doctor.actor, seen, [PrescriptionLine("Amoxicilline", "1 g", "3 fois par jour",
                                                                     "7 jours")])
    messages.send_message(noor.actor, doctor.user.id, "Bonjour docteur, merci")
    return {"noor": noor, "sam": sam, "seen": seen, "booked": booked}


def layout(client, language: str) -> dict:
    client.set_cookie("doktu_lang", language)
    response = client.get("/doctor/_dash-layout")
    assert response.status_code == 200
    return response.get_json()


def all_text(tree) -> str:
    return " | ".join(text for _where, text in texts(tree))


def panels(app, doctor, practice, language: str) -> dict:  # noqa: F811
    """Each panel a callback fills, built as the callback builds it, in a request in `language`."""
    actor = doctor.actor
    with app.test_request_context("/doctor/_dash-update-component", method="POST",
                                  headers={"Cookie": f"doktu_lang={language}"}):
        return {
            "upcoming": cb.refresh_upcoming(actor, None, force=True)[0],
            "records": [(shown := cb.open_records(actor))["list"], shown["status"]],
            "records found none": cb.open_records(actor, query="zzz")["list"],
            "record": cb.open_record(actor, str(practice["noor"].patient.id)),
            "no record": cb.open_record(actor, "nonsense"),
            "conversations": cb.open_messages(actor, None),
            "thread": cb.show_conversation(actor, str(practice["noor"].user.id))[:1],
            "unread": cb.unread_button(actor),
            "cancel dialog": cb.open_cancel(actor, str(practice["booked"]))[1],
            "cancel without reason": cb.confirm_cancel(actor, str(practice["booked"]), " ")[2],
            "documents": documents_panel.open_dialog(actor, str(practice["seen"])),
            "bad follow-up": documents_panel.act(actor, "doctor-followup-save", str(practice["seen"]),
                                                 {"followup": "400"}),
            "empty prescription": documents_panel.act(actor, "doctor-rx-issue", str(practice["seen"]), {}),
            "schedule hidden": cb.toggle_schedule(1),
            "walk-in": cb.walkin_panel(actor),
            "online": cb.online_status(True),
            "offline": cb.online_status(False),
            "bulk refused": cb.apply_range(actor, True, "2026-03-09", "2026-03-08", "10:00", "12:00", [0]),
            "bulk done": cb.apply_range(actor, False, "2026-03-09", "2026-03-09", "10:00", "12:00", [0]),
            "weekly hours refused": cb.save_weekly_hours(actor, ["9-12", "", "", "", "", "", ""])[0],
            "weekly hours saved": cb.save_weekly_hours(actor, ["09:00-12:30", "", "", "", "", "", ""])[0],
            "settings refused": cb.save_settings(actor, "Mars/Olympus", "", "")["feedback"],
            "send without a conversation": cb.send(actor, None, "x")[2],
        }


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_portal_layout_has_no_english_left(client, login, doctor, practice, language):  # noqa: F811
    login(doctor.user.email)
    tree = layout(client, language)
    assert leftovers(tree, language) == []
    text = all_text(tree)
    expected = {"fr": ("Consultations à venir", "Espace médecin", "Nous contacter", "Consultations immédiates",
                       "Aujourd’hui à 10:00", "Dossiers patients", "Horaires hebdomadaires", "Lundi", "confirmée"),
                "de": ("Anstehende Sprechstunden", "Arztportal", "Kontakt", "Nehme jetzt Sprechstunden an",
                       "Heute, 10:00", "Patientenakten", "Wochenzeiten", "Montag", "bestätigt")}[language]
    for phrase in expected:
        assert phrase in text, phrase
    # The weekday pills of the bulk form are Babel's short names, Monday first.
    assert {"fr": "lun.", "de": "Mo."}[language] in text


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_panel_a_callback_fills_has_no_english_left(app, doctor, practice, language):  # noqa: F811
    outputs = panels(app, doctor, practice, language)
    for name, output in outputs.items():
        assert leftovers(output, language) == [], name
    text = {name: all_text(output) for name, output in outputs.items()}
    if language == "fr":
        assert "Rendez-vous introuvable" not in text["no record"] and "Patient introuvable." in text["no record"]
        assert "Lundi : écrivez les heures au format HH:MM" in text["weekly hours refused"]
        assert "Proposez un suivi sous 1 à 60 jours." in text["bad follow-up"]
        assert "Ajoutez au moins un médicament." in text["empty prescription"]
        assert "Veuillez indiquer un motif au patient." in text["cancel without reason"]
        assert "Le dernier jour ne doit pas précéder le premier." in text["bulk refused"]
        assert "4 demi-heures désactivées." in text["bulk done"]
        assert "Amoxicilline" not in text["documents"]  # the doctor's words stay as written, and only in the PDF
        assert "Ordonnance, 2 mars 2026 à 0" in text["documents"]  # Babel's date, 24 h clock
        assert "Annuler la consultation avec Sam Berg le lundi 2 mars à 10:00 ?" in text["cancel dialog"]
        assert "Conversation avec Noor Haddad (1 non lu)" in text["conversations"]
    else:
        assert "Montag: Schreiben Sie Uhrzeiten als HH:MM" in text["weekly hours refused"]
        assert "Schlagen Sie eine Nachsorge innerhalb von 1 bis 60 Tagen vor." in text["bad follow-up"]
        assert "4 halbe Stunden ausgeschaltet." in text["bulk done"]
        assert "Rezept, 02.03.2026, 0" in text["documents"]
        assert "Die Sprechstunde mit Sam Berg am Montag, 2. März um 10:00 absagen?" in text["cancel dialog"]
        assert "Unterhaltung mit Noor Haddad (1 ungelesen)" in text["conversations"]


def test_a_refusal_keeps_its_english_message_and_code_for_the_api(app, doctor, practice):  # noqa: F811
    with pytest.raises(ValidationFailed) as caught:
        weekly.parse_day_text("9-12, 14", weekly.WEEKDAY_LABELS[2])
    assert caught.value.message == "Wednesday: write ranges as 09:00-12:30, separated by commas."
    assert caught.value.code == "ERR_VALIDATION"
    from portals.i18n import refusal_text

    with app.test_request_context(headers={"Cookie": "doktu_lang=de"}):
        assert refusal_text(caught.value) == ("Mittwoch: Schreiben Sie Zeiträume als 09:00-12:30, durch Kommas "
                                              "getrennt.")


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_english_panels_are_untouched_by_the_catalogs(app, doctor, practice, language):  # noqa: F811
    """The check itself can fail: the same panels in English are full of the messages it looks for."""
    english = panels(app, doctor, practice, "en")
    found = [hit for output in english.values() for hit in leftovers(output, language)]
    assert len(found) > 20
    text = all_text(english["upcoming"])
    assert "Today, 10:00" in text and "Join from 09:55" in text


# --- the join and onboarding pages ---------------------------------------------------------------------

ENGLISH_PAGES = ("Join Doktu as a doctor", "Create my account", "Repeat the password", "Your professional profile",
                 "Professional details", "Save profile", "Weekly hours", "Submit for review", "Steps done",
                 "This invitation no longer works", "Upload photo", "Consultation languages", "Monday", "Cardiology",
                 "Go to your calendar and settings", "closed", "to do")


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("language", ("en", "fr", "de"))
def test_the_join_and_onboarding_pages_in_each_language(client, make_user, language):
    from core.doctors import onboarding

    admin = make_user("admin")
    _invitation, token = onboarding.invite_doctor(admin.actor, f"neu-{language}@tests.doktu.eu",
                                                  base_url="http://localhost")
    path = f"/join/{token}"
    client.set_cookie("doktu_lang", language)
    page = client.get(path).get_data(as_text=True)
    assert f'<html lang="{language}"' in page
    heading = {"en": "Join Doktu as a doctor", "fr": "Rejoindre Doktu en tant que médecin",
               "de": "Doktu als Ärztin oder Arzt beitreten"}[language]
    assert heading in page
    # A refused form: the validators' messages in the page's language.
    refused = client.post(path, data={"csrf_token": _token(page), "full_name": "", "password": "a", "confirm": "b"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert {"en": "The two passwords differ.", "fr": "Les deux mots de passe",
            "de": "Die beiden Passwörter"}[language] in body
    if language != "en":
        for english in (*ENGLISH_PAGES, "The two passwords differ.", "Enter your name."):
            assert english not in visible_text(body), (language, english)
    good = client.post(path, data={"csrf_token": _token(body), "full_name": "Dr Neue Ärztin",
                                   "password": "Kalender-Sprechstunde-42", "confirm": "Kalender-Sprechstunde-42"},
                       follow_redirects=True)
    onboarding_page = good.get_data(as_text=True)
    assert f'<html lang="{language}"' in onboarding_page
    expected = {"en": ("Your account is ready.", "Monday", "Cardiology", "Deutsch"),
                "fr": ("Votre compte est prêt.", "Lundi", "Cardiologie", "Deutsch", "Étapes terminées"),
                "de": ("Ihr Konto ist bereit.", "Montag", "Kardiologie", "Français", "Erledigte Schritte")}[language]
    for phrase in expected:
        assert phrase in onboarding_page, phrase
    if language != "en":
        text = visible_text(onboarding_page)
        for english in ENGLISH_PAGES:
            assert english not in text, (language, english)
        # A refused profile: the rule's message in the doctor's language.
        refused = client.post("/doctor-onboarding", data={"csrf_token": _token(onboarding_page), "action": "profile",
                                                          "name": "Dr Neue Ärztin", "specialty": "Cardiology",
                                                          "rpps": "123", "languages": ["de"], "price": "35",
                                                          "timezone": "Europe/Berlin"})
        assert refused.status_code == 422
        assert {"fr": "Le numéro RPPS compte 11 chiffres.", "de": "Die RPPS-Nummer hat 11 Ziffern."}[language] in \
            refused.get_data(as_text=True)
        # The link, used once, no longer works: said in the visitor's language.
        expired = client.get(path)
        assert expired.status_code == 410
        gone = expired.get_data(as_text=True)
        assert f'<html lang="{language}"' in gone
        assert "This invitation no longer works" not in gone and "Invitations last 7 days" not in gone
        assert {"fr": "Cette invitation a expiré", "de": "Diese Einladung ist abgelaufen"}[language] in \
            gone.replace("&#39;", "'")


def test_the_portal_page_title_follows_the_language(client, login, doctor):  # noqa: F811
    login(doctor.user.email)
    client.set_cookie("doktu_lang", "de")
    page = client.get("/doctor/").get_data(as_text=True)
    assert "<title>Doktu — Arztportal</title>" in page and '<html lang="de"' in page
    client.set_cookie("doktu_lang", "fr")
    assert "<title>Doktu — Espace médecin</title>" in client.get("/doctor/").get_data(as_text=True)


def test_the_dash_json_is_walked_like_the_components(client, login, doctor):  # noqa: F811
    """The helper reads what Dash sends: a forgotten `_()` in the layout JSON is found."""
    login(doctor.user.email)
    tree = layout(client, "fr")
    tree["props"]["children"].append({"type": "Button", "namespace": "dash_html_components",
                                      "props": {"children": "Patient records", "title": "Hide schedule"}})
    assert [text for _where, text in leftovers(json.loads(json.dumps(tree)), "fr")] == \
        ["Hide schedule", "Patient records"]
