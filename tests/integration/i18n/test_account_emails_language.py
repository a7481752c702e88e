"""SPEC §20: the account and onboarding emails go out in the recipient's language (`users.locale`)
with moments in the recipient's own zone — security notices, the doctor's approval, the invitation
(the inviting admin's language, or the one asked for), the data export and the unverified-account
warning. Against the real PostgreSQL; the messages are read back from the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.accounts import settings
from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import onboarding
from core.models import OutboxMessage, User
from core.privacy import export, retention
from tests.conftest import TEST_PASSWORD

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def at(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def speaking(user_id, locale, zone=None):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == user_id).values(locale=locale, timezone=zone))


def mail(to: str) -> list[OutboxMessage]:
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == to)
                                   .order_by(OutboxMessage.created_at)).all()
        uow.session.expunge_all()
        return list(rows)


def test_the_password_notice_is_in_french_at_the_users_own_hour(db, make_user, at):
    user = make_user("patient")
    speaking(user.user.id, "fr", "America/Montreal")
    settings.change_password(user.actor, current_password=TEST_PASSWORD, new_password="Another-Long-Secret-93")
    [notice] = mail(user.email)
    assert notice.subject == "Le mot de passe de votre compte Doktu a été modifié"
    # 09:00 UTC is 04:00 in Montreal on 3 December (UTC-5), written the French way.
    assert "le jeudi 3 décembre 2026 à 04:00 (America/Montreal)" in notice.body_text
    assert "Mot de passe oublié ?" in notice.body_text and 'lang="fr"' in notice.body_html


def test_the_email_change_notice_reaches_the_old_address_in_german(db, make_user, at):
    user = make_user("patient")
    old = user.email
    speaking(user.user.id, "de")
    settings.change_name_and_email(user.actor, full_name="Ada", email="ada.neu@example.com",
                                   current_password=TEST_PASSWORD)
    [notice] = mail(old)
    assert notice.subject == "Die E-Mail-Adresse Ihres Doktu-Kontos wurde geändert"
    assert "in ada.neu@example.com geändert" in notice.body_text
    assert "am Donnerstag, 3. Dezember 2026 um 10:00 (Europe/Paris)" in notice.body_text


def test_a_user_who_never_chose_reads_english(db, make_user, at):
    user = make_user("patient")
    speaking(user.user.id, None)
    settings.change_password(user.actor, current_password=TEST_PASSWORD, new_password="Another-Long-Secret-93")
    [notice] = mail(user.email)
    assert notice.subject == "Your Doktu password was changed"
    assert "on Thursday 3 December 2026 at 10:00 (Europe/Paris)" in notice.body_text


def test_the_approval_is_in_the_doctors_language(db, make_user, at):
    admin = make_user("admin")
    doctor = make_user("doctor", full_name="Dr Hanna Weber", status="pending", rpps="10003123451")
    speaking(doctor.user.id, "de")
    onboarding.approve_doctor(admin.actor, doctor.doctor.id, "RPPS checked")
    [notice] = mail(doctor.email)
    assert notice.subject == "Ihr Doktu-Profil ist freigegeben"
    assert notice.body_text.startswith("Guten Tag Dr Hanna Weber,") and "/doctor/" in notice.body_text


@pytest.mark.parametrize(("admin_locale", "asked", "subject"), [
    ("fr", None, "Vous êtes invité(e) à consulter sur Doktu"),
    ("fr", "de", "Sie sind eingeladen, auf Doktu Sprechstunden anzubieten"),
    (None, None, "You are invited to consult on Doktu")])
def test_the_invitation_is_in_the_admins_language_unless_another_is_asked(db, make_user, at, admin_locale, asked,
                                                                             subject):
    admin = make_user("admin")
    speaking(admin.user.id, admin_locale)
    onboarding.invite_doctor(admin.actor, "invitee@tests.doktu.eu", base_url="https://doktu.example",
                             language=asked)
    [invitation] = mail("invitee@tests.doktu.eu")
    assert invitation.subject == subject
    assert "https://doktu.example/join/" in invitation.body_text
    assert 'href="https://doktu.example/join/' in invitation.body_html  # the HTML part keeps the link


def test_the_export_link_is_in_the_users_language_with_its_deadline_in_their_zone(db, make_user, at):
    user = make_user("patient")
    speaking(user.user.id, "fr", "Europe/Berlin")
    state = export.request_export(user.actor)
    assert export.build_export(state.id, now=NOW) is True
    [ready] = [m for m in mail(user.email) if "/account/data/download/" in m.body_text]
    assert ready.subject == "Vos données Doktu sont prêtes"
    assert "jusqu'au vendredi 4 décembre 2026 à 10:00 (Europe/Berlin)" in ready.body_text


def test_the_unverified_account_warning_is_in_the_users_language(db, make_user, at):
    user = make_user("patient", verified=False)
    speaking(user.user.id, "de")
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == user.user.id).values(created_at=NOW - timedelta(days=23)))
    assert retention.warn_unverified_accounts(NOW) == 1
    [warning] = mail(user.email)
    assert warning.subject == "Bestätigen Sie Ihre E-Mail-Adresse, sonst wird Ihr Doktu-Konto gelöscht"
    assert "in etwa 7 Tagen gelöscht" in warning.body_text and "„Link erneut senden“" in warning.body_text
