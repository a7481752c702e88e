"""Account settings (SPEC §6, §9 "Settings", §11): name and email, password, time zone and reminder
preferences. Each change is one unit of work run as the user: row-level security lets a user
update only their own `users` and `patients` rows, so these functions take no user id — the
actor is the account. Errors name the field they concern (`details.fields`), so a form can put
the message next to the right input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import clock, i18n, timezones
from core.accounts.authentication import AuthenticatedUser
from core.accounts.passwords import hash_password, verify_password
from core.accounts.policy import check_password
from core.accounts.signup import normalise_email
from core.actor import ROLES, Actor
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import DuplicateEmail, Forbidden, ValidationFailed
from core.i18n import N_
from core.models import Patient, User
from core.notify.email import Email, queue_email
from core.notify.rendering import language_of, render, zone_of
from core.privacy import verification

MAX_NAME = 200
ERASED_DOMAIN = "deleted.doktu.eu"  # erased accounts' placeholder addresses (core.accounts.erasure)

# E.164: a +, a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class AccountSettings:
    email: str
    full_name: str
    timezone: str | None  # None: times follow the device's zone
    email_reminders: bool
    sms_reminders: bool
    phone: str | None  # patients only
    email_message_notices: bool = True  # an email when a doctor writes (issue 25)


# --- rules over plain values -----------------------------------------------------------------

def check_timezone(zone: str | None) -> str | None:
    """A zone from the list, or None (follow the device)."""
    zone = (zone or "").strip() or None
    if zone is None:
        return None
    if not timezones.is_selectable(zone):
        raise ValidationFailed(N_("Choose a time zone from the list."), details=_field("timezone", "unknown zone"))
    return zone


def normalise_phone(raw: str | None) -> str | None:
    """A mobile number in E.164 (+33612345678), or None when empty. Spaces, dots, dashes and
    brackets are dropped; a leading 00 counts as +."""
    text = _PHONE_PUNCTUATION.sub("", raw or "")
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _E164.fullmatch(text):
        raise ValidationFailed(
            N_("Enter the number in international format, starting with + and the country code, "
               "e.g. +33 6 12 34 56 78."),
            details=_field("phone", "not an E.164 number"))
    return text


def clean_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed(N_("Enter your name."), details=_field("full_name", "required"))
    if len(name) > MAX_NAME:
        raise ValidationFailed(N_("Use at most %(count)d characters."), params={"count": MAX_NAME},
                               details=_field("full_name", "too long"))
    return name


def _field(name: str, message: str) -> dict:
    return {"fields": [{"field": name, "message": message}]}


# --- services ---------------------------------------------------------------------------------

def get_settings(actor: Actor) -> AccountSettings:
    """What the Settings tab shows (SPEC §9)."""
    with unit_of_work(_require_user(actor)) as uow:
        user = _own_user(uow, actor)
        return _view(uow, user)


def change_name_and_email(actor: Actor, *, full_name: str, email: str, current_password: str | None) -> AccountSettings:
    """Change the name and the email (SPEC §6). The email is validated and normalised like at
    sign-up and unique whatever its case (ERR_DUP_EMAIL); changing it needs the current password,
    and a notice goes to the old address, so a borrowed session cannot quietly take the account."""
    _require_user(actor)
    name = clean_name(full_name)
    if not (email or "").strip():
        raise ValidationFailed(N_("Enter your email."), details=_field("email", "required"))
    try:
        new_email = normalise_email(email)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, details=_field("email", "invalid")) from exc
    if new_email.endswith("@" + ERASED_DOMAIN):
        raise ValidationFailed(N_("This address cannot be used."), details=_field("email", "reserved"))
    try:
        with unit_of_work(actor) as uow:
            s = uow.session
            user = _own_user(uow, actor, lock=True)
            old_email = user.email
            if new_email != old_email:
                _check_current_password(user, current_password, field="current_password")
                with acting_as_system(uow):  # other people's rows are hidden from the user: ask as the system
                    taken = s.scalar(select(func.count()).select_from(User).where(
                        func.lower(User.email) == new_email, User.id != actor.user_id))
                if taken:
                    raise _duplicate()
            s.execute(update(User).where(User.id == actor.user_id).values(full_name=name, email=new_email))
            if new_email != old_email:
                _notify(uow, user, old_email, "email_changed", new_email=new_email)
                with acting_as_system(uow):  # the new address is unverified (trigger) until its link is used
                    verification.queue_link(uow, actor.user_id, new_email)
            s.refresh(user)
            return _view(uow, user)
    except IntegrityError as exc:  # the same address taken by someone else at the same moment
        raise _duplicate() from exc


def change_password(actor: Actor, *, current_password: str, new_password: str) -> AuthenticatedUser:
    """Set a new password (SPEC §6 policy, bcrypt cost 12) after checking the current one, and bump
    `session_version`: every other session and API token stops working. Returns the user with the
    new version, for the caller to keep its own session signed in."""
    _require_user(actor)
    with unit_of_work(actor) as uow:
        s = uow.session
        user = _own_user(uow, actor, lock=True)
        _check_current_password(user, current_password, field="current_password")
        if verify_password(new_password, user.password_hash):
            raise ValidationFailed(N_("Choose a password different from your current one."),
                                   details=_field("new_password", "unchanged"))
        policy = check_password(new_password, user_inputs=(user.email, user.email.split("@")[0], user.full_name))
        if not policy.ok:
            raise ValidationFailed(parts=policy.parts,
                                   details={"fields": [{"field": "new_password", "message": p}
                                                       for p in policy.problems]})
        s.execute(update(User).where(User.id == actor.user_id).values(
            password_hash=hash_password(new_password), session_version=User.session_version + 1))
        _notify(uow, user, user.email, "password_changed")
        s.refresh(user)
        return AuthenticatedUser.from_row(user)


def set_timezone(actor: Actor, zone: str | None) -> str | None:
    """Save the zone times are shown in (None: follow the device). SPEC §3: times in the viewer's zone."""
    _require_user(actor)
    zone = check_timezone(zone)
    with unit_of_work(actor) as uow:
        uow.session.execute(update(User).where(User.id == actor.user_id).values(timezone=zone))
    return zone


def remember_device_zone(actor: Actor, zone: str) -> None:
    """Keep the zone the user's browser reports (SPEC §20), so emails and SMS show times in it when
    no zone was chosen in Settings. The caller passes a valid IANA zone, and only when it changed."""
    _require_user(actor)
    with unit_of_work(actor) as uow:
        uow.session.execute(update(User).where(User.id == actor.user_id).values(device_zone=zone[:64]))


def check_language(language: str | None) -> str:
    """One of the languages we speak (SPEC §20: en, fr, de)."""
    value = (language or "").strip().lower()
    if value not in i18n.LANGUAGES:
        raise ValidationFailed(N_("Choose a language from the list."), details=_field("language", "unknown language"))
    return value


def set_language(actor: Actor, language: str | None) -> str:
    """Save the language of the user's pages, emails, SMS and documents (SPEC §20)."""
    _require_user(actor)
    language = check_language(language)
    with unit_of_work(actor) as uow:
        uow.session.execute(update(User).where(User.id == actor.user_id).values(locale=language))
    return language


def set_notifications(actor: Actor, *, email_reminders: bool, sms_reminders: bool,
                      phone: str | None, email_message_notices: bool | None = None) -> AccountSettings:
    """Reminder preferences (SPEC §11): email on/off, SMS on/off to a mobile number in E.164 (kept
    in `patients.phone`). SMS reminders need a number; a number may be kept with SMS off. With
    `email_message_notices`, also whether a new message from a doctor is announced by email (issue 25)."""
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Reminder settings are for patients."))
    number = normalise_phone(phone)
    if sms_reminders and number is None:
        raise ValidationFailed(N_("Enter your mobile number to get SMS reminders."),
                               details=_field("phone", "required"))
    with unit_of_work(actor) as uow:
        s = uow.session
        values = {"email_reminders": bool(email_reminders), "sms_reminders": bool(sms_reminders)}
        if email_message_notices is not None:
            values["email_message_notices"] = bool(email_message_notices)
        s.execute(update(User).where(User.id == actor.user_id).values(**values))
        done = s.execute(update(Patient).where(Patient.user_id == actor.user_id).values(phone=number))
        if not done.rowcount:
            raise Forbidden(N_("This account has no patient profile."))
        return _view(uow, _own_user(uow, actor))


# --- the steps --------------------------------------------------------------------------------

def _require_user(actor: Actor) -> Actor:
    if actor.role not in ROLES or actor.user_id is None:
        raise Forbidden(N_("Only a signed-in user can change their account."))
    return actor


def _own_user(uow: UnitOfWork, actor: Actor, *, lock: bool = False) -> User:
    """The actor's own row (row-level security shows a user no other account to update)."""
    query = select(User).where(User.id == actor.user_id).execution_options(populate_existing=True)
    user = uow.session.scalar(query.with_for_update() if lock else query)
    if user is None or not user.is_active:
        raise Forbidden(N_("This account is not active."))
    return user


def _view(uow: UnitOfWork, user: User) -> AccountSettings:
    phone = uow.session.scalar(select(Patient.phone).where(Patient.user_id == user.id))
    return AccountSettings(user.email, user.full_name, user.timezone, user.email_reminders, user.sms_reminders,
                           phone, user.email_message_notices)


def _check_current_password(user: User, password: str | None, *, field: str) -> None:
    if not password:
        raise ValidationFailed(N_("Enter your current password."), details=_field(field, "required"))
    if not verify_password(password, user.password_hash):
        raise ValidationFailed(N_("Your current password is not right."), details=_field(field, "wrong"))


def _duplicate() -> DuplicateEmail:
    return DuplicateEmail(N_("This email is already used by another account."), details=_field("email", "taken"))


def _notify(uow: UnitOfWork, user: User, to: str, template: str, **values) -> None:
    """A security notice to the account's address, sent after the commit (the outbox is the system's),
    in the user's language, the moment in their own zone (SPEC §20)."""
    language = language_of(user.locale)
    message = render(template, language, **values,
                     when=i18n.format_moment(clock.now(), zone_of(user.timezone, user.device_zone), language))
    with acting_as_system(uow):
        queue_email(uow, Email(to=to, subject=message.subject, text=message.text, html=message.html))
