"""Doctors come on board (SPEC §19; issue 17): invitations, the professional profile, review,
approval and suspension.

- An admin (or an operator's CLI) invites a doctor by email: a single-use link valid 7 days, stored
  only hashed like password-reset links; resend replaces the link, revoke kills it.
- Accepting creates the doctor's account (a password under the usual policy) and a `pending`
  doctor row. The doctor completes the profile (RPPS with its Luhn key, unique; fixed specialties;
  price default €35 …) and submits it for review. Until an admin approves it, the doctor is neither
  listed nor bookable (`core.doctors.directory.LISTED`, `core.scheduling.calendars`).
- Suspension hides the doctor at once; every future appointment is cancelled by `admin` through
  the ordinary cancel service (full refund, notices) — owed in the suspension's transaction and
  idempotent, so each is cancelled and refunded exactly once.
Only staff change a doctor's status: here (role check) and in PostgreSQL (a trigger, migration 0010).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import clock, config, timezones
from core.accounts.authentication import AuthenticatedUser
from core.accounts.passwords import hash_password
from core.accounts.policy import check_password
from core.accounts.signup import normalise_email
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.booking import changes
from core.db import acting_as_system, unit_of_work
from core.errors import (
    DuplicateEmail,
    DuplicateRpps,
    Forbidden,
    InvalidTransition,
    LinkExpired,
    NotFound,
    ValidationFailed,
)
from core.i18n import N_
from core.models import ACTIVE_STATUSES, Appointment, Doctor, DoctorInvitation, DoctorPhoto, User
from core.notify.email import Email, queue_email
from core.notify.rendering import language_of, render
from core.scheduling.doctor_slots import own_doctor

INVITATION_LIFETIME = timedelta(days=7)
DEFAULT_PRICE_CENTS = 3500
MAX_PRICE_CENTS = 100_000
SPECIALTIES = (  # stored in English; marked so a page can show them translated
    N_("Allergy and immunology"), N_("Cardiology"), N_("Dermatology"), N_("Endocrinology"), N_("ENT"),
    N_("Gastroenterology"), N_("General practice"), N_("Gynaecology"), N_("Neurology"), N_("Paediatrics"),
    N_("Psychiatry"), N_("Pulmonology"), N_("Rheumatology"), N_("Sports medicine"), N_("Urology"),
)
LANGUAGES = {"de": "German", "en": "English", "es": "Spanish", "fr": "French", "it": "Italian", "nl": "Dutch",
             "pl": "Polish", "pt": "Portuguese", "sv": "Swedish", "ar": "Arabic", "ro": "Romanian"}
MAX_NAME, MAX_BIO, MAX_PHILOSOPHY, MAX_LIST_ITEMS, MAX_ITEM = 200, 2000, 1000, 10, 200
MAX_REASON = 1000
# What patients read: the admin's own reason stays in the audit log (it may be confidential).
PATIENT_REASON = "Your doctor is no longer available on Doktu. You are refunded in full."


# --- pure rules --------------------------------------------------------------------------------------

def luhn_valid(digits: str) -> bool:
    """The Luhn check: from the right, double every second digit (minus 9 above 9); the sum is a
    multiple of 10. The RPPS number's eleventh digit is its Luhn key."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def clean_rpps(raw: str | None) -> str:
    """An RPPS: 11 digits (spaces allowed when typing) whose last digit is the Luhn key."""
    value = re.sub(r"\s+", "", raw or "")
    if not re.fullmatch(r"\d{11}", value):
        raise ValidationFailed(N_("The RPPS number has 11 digits."), details={"fields": [
            {"field": "rpps", "message": "11 digits"}]})
    if not luhn_valid(value):
        raise ValidationFailed(N_("This RPPS number is not valid: check the digits (the last one is a check key)."),
                               details={"fields": [{"field": "rpps", "message": "check key"}]})
    return value


def _lines(raw: str | list[str] | None, label: str) -> list[str]:
    items = raw if isinstance(raw, list) else (raw or "").splitlines()
    items = [i.strip() for i in items if i and i.strip()]
    if len(items) > MAX_LIST_ITEMS or any(len(i) > MAX_ITEM for i in items):
        raise ValidationFailed(N_("%(field)s: at most %(lines)d lines of %(limit)d characters."),
                               params={"field": label, "lines": MAX_LIST_ITEMS, "limit": MAX_ITEM})
    return items


def _text(raw: str | None, limit: int, label: str) -> str:
    value = (raw or "").strip()
    if len(value) > limit:
        raise ValidationFailed(N_("%(field)s can be at most %(limit)d characters."),
                               params={"field": label, "limit": limit})
    return value


@dataclass(frozen=True)
class ProfileInput:
    name: str
    specialty: str
    rpps: str
    languages: list[str]
    price_cents: int
    bio: str
    education: list[str]
    expertise: list[str]
    philosophy: str
    timezone: str


def validate_profile(*, name: str | None, specialty: str | None, rpps: str | None, languages: list[str] | None,
                     price_euros: str | float | int | None, bio: str | None, education, expertise,
                     philosophy: str | None, timezone: str | None) -> ProfileInput:
    """The professional profile of SPEC §19, every field checked with a message saying what to fix."""
    name = _text(name, MAX_NAME, N_("The name"))
    if len(name) < 3:
        raise ValidationFailed(N_("Enter your name as patients will see it, e.g. Dr. Claire Dubois."))
    if specialty not in SPECIALTIES:
        raise ValidationFailed(N_("Choose your specialty from the list."))
    langs = sorted({(code or "").lower() for code in (languages or [])})
    if not langs or any(code not in LANGUAGES for code in langs):
        raise ValidationFailed(N_("Choose at least one consultation language from the list."))
    try:
        price = (DEFAULT_PRICE_CENTS if price_euros in (None, "")
                 else round(float(str(price_euros).replace(",", ".")) * 100))
    except ValueError:
        raise ValidationFailed(N_("Enter the consultation price in euros, e.g. 35.")) from None
    if not 0 < price <= MAX_PRICE_CENTS:
        raise ValidationFailed(N_("The consultation price is between €0.01 and €1,000."))
    if not timezones.is_selectable(timezone):
        raise ValidationFailed(N_("Choose a time zone from the list, e.g. Europe/Paris."))
    ZoneInfo(timezone)
    return ProfileInput(name, specialty, clean_rpps(rpps), langs, price, _text(bio, MAX_BIO, N_("The about text")),
                        _lines(education, N_("Education")), _lines(expertise, N_("Expertise")),
                        _text(philosophy, MAX_PHILOSOPHY, N_("The care philosophy")), timezone)


# --- invitations -------------------------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_staff(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise Forbidden(N_("Only admins can invite, approve or suspend doctors."))


@dataclass(frozen=True)
class InvitationView:
    id: uuid.UUID
    email: str
    created_at: datetime
    expires_at: datetime
    state: str  # pending | accepted | revoked | expired


def _view(row: DoctorInvitation, now: datetime) -> InvitationView:
    state = ("accepted" if row.used_at else "revoked" if row.revoked_at
             else "expired" if row.expires_at <= now else "pending")
    return InvitationView(row.id, row.email, row.created_at, row.expires_at, state)


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/join/{token}"


def _invitation_language(uow, actor: Actor, language: str | None) -> str:
    """The invitee has no account yet, so no `users.locale`: the language asked for (the CLI's
    `--language`), else the inviting admin's own language (SPEC §20), else English."""
    if language:
        return language_of(language)
    if actor.user_id is None:
        return language_of(None)
    with acting_as_system(uow):
        return language_of(uow.session.scalar(select(User.locale).where(User.id == actor.user_id)))


def _send_invitation(uow, actor: Actor, email: str, base_url: str,
                     language: str | None = None) -> tuple[DoctorInvitation, str]:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = DoctorInvitation(email=email, token_hash=_digest(token), invited_by=actor.user_id,
                           created_at=now, expires_at=now + INVITATION_LIFETIME)
    uow.session.add(row)
    uow.session.flush()
    message = render("doctor_invitation", _invitation_language(uow, actor, language),
                     link=invitation_link(base_url, token))
    queue_email(uow, Email(to=email, subject=message.subject, text=message.text, html=message.html))
    record_audit(uow.session, actor, action="doctor.invited", subject_type="doctor_invitation",
                 subject_id=str(row.id), at=now, details={})
    return row, token


def invite_doctor(actor: Actor, email: str, *, base_url: str,
                  language: str | None = None) -> tuple[InvitationView, str]:
    """Invite a doctor by email (SPEC §19): any open invitation for the address is replaced.
    Returns the invitation and the raw token (shown once to an operator's CLI; never stored)."""
    _require_staff(actor)
    email = normalise_email(email)
    with unit_of_work(actor) as uow:
        s = uow.session
        with acting_as_system(uow):  # every user's email, not only those an admin may read
            taken = s.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email))
        if taken:
            raise DuplicateEmail(N_("An account with this email already exists."))
        now = clock.now()
        s.execute(update(DoctorInvitation).where(
            func.lower(DoctorInvitation.email) == email, DoctorInvitation.used_at.is_(None),
            DoctorInvitation.revoked_at.is_(None)).values(revoked_at=now))
        row, token = _send_invitation(uow, actor, email, base_url, language)
        return _view(row, now), token


def _open_invitation(session, invitation_id: uuid.UUID) -> DoctorInvitation:
    row = session.scalar(select(DoctorInvitation).where(DoctorInvitation.id == invitation_id).with_for_update())
    if row is None:
        raise NotFound(N_("No such invitation."))
    if row.used_at is not None:
        raise InvalidTransition(N_("This invitation was already accepted."))
    return row


def resend_invitation(actor: Actor, invitation_id: uuid.UUID, *, base_url: str,
                      language: str | None = None) -> tuple[InvitationView, str]:
    """A fresh 7-day link to the same address; the old link stops working. Returns the new
    invitation and its raw token."""
    _require_staff(actor)
    with unit_of_work(actor) as uow:
        old = _open_invitation(uow.session, invitation_id)
        now = clock.now()
        if old.revoked_at is None:
            old.revoked_at = now
        row, token = _send_invitation(uow, actor, old.email, base_url, language)
        return _view(row, now), token


def revoke_invitation(actor: Actor, invitation_id: uuid.UUID) -> InvitationView:
    _require_staff(actor)
    with unit_of_work(actor) as uow:
        row = _open_invitation(uow.session, invitation_id)
        now = clock.now()
        if row.revoked_at is None:
            row.revoked_at = now
            record_audit(uow.session, actor, action="doctor.invitation_revoked", subject_type="doctor_invitation",
                         subject_id=str(row.id), at=now, details={})
        return _view(row, now)


def list_invitations(actor: Actor, *, limit: int = 50) -> list[InvitationView]:
    _require_staff(actor)
    with unit_of_work(actor) as uow:
        now = clock.now()
        rows = uow.session.scalars(select(DoctorInvitation).order_by(DoctorInvitation.created_at.desc())
                                   .limit(limit))
        return [_view(r, now) for r in rows]


def _usable(session, token: str, *, lock: bool = False) -> DoctorInvitation:
    query = select(DoctorInvitation).where(DoctorInvitation.token_hash == _digest(token or ""))
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= clock.now():
        raise LinkExpired(N_("This invitation has expired, was revoked or was already used. Ask Doktu for a new one."))
    return row


def check_invitation(token: str) -> str:
    """The invited address, if the link is still usable (else ERR_LINK_EXPIRED)."""
    with unit_of_work(SYSTEM) as uow:
        return _usable(uow.session, token).email


def accept_invitation(token: str, *, full_name: str, password: str) -> AuthenticatedUser:
    """Use the link once: the doctor's account (password policy applies) and a pending profile."""
    name = _text(full_name, MAX_NAME, N_("The name"))
    if len(name) < 3:
        raise ValidationFailed(N_("Enter your name as patients will see it, e.g. Dr. Claire Dubois."))
    try:
        with unit_of_work(SYSTEM) as uow:
            s = uow.session
            row = _usable(s, token, lock=True)
            policy = check_password(password, user_inputs=(row.email, name))
            if not policy.ok:
                raise ValidationFailed(parts=policy.parts, details={
                    "fields": [{"field": "password", "message": p} for p in policy.problems]})
            if s.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == row.email)):
                raise DuplicateEmail()
            now = clock.now()
            user = User(email=row.email, role="doctor", full_name=name, password_hash=hash_password(password))
            s.add(user)
            s.flush()
            doctor = Doctor(user_id=user.id, display_name=name, specialty="", status="pending",
                            price_cents=DEFAULT_PRICE_CENTS, cal_enabled=False)  # switched on in Settings
            s.add(doctor)
            row.used_at, row.user_id = now, user.id
            s.flush()
            record_audit(s, Actor(user.id, "doctor"), action="doctor.invitation_accepted", subject_type="doctor",
                         subject_id=str(doctor.id), at=now, details={"invitation": str(row.id)})
            return AuthenticatedUser.from_row(user)
    except IntegrityError as exc:
        raise DuplicateEmail() from exc


# --- the doctor's profile ----------------------------------------------------------------------------

@dataclass(frozen=True)
class OnboardingState:
    status: str
    submitted: bool
    name: str
    specialty: str
    rpps: str
    languages: list[str]
    price_cents: int
    bio: str
    education: list[str]
    expertise: list[str]
    philosophy: str
    timezone: str
    has_photo: bool
    has_hours: bool

    @property
    def steps(self) -> list[tuple[str, bool]]:
        """The progress indicator: each step and whether it is done."""
        return [(N_("Password"), True), (N_("Professional profile"), bool(self.specialty and self.rpps)),
                (N_("Photo"), self.has_photo), (N_("Weekly hours"), self.has_hours),
                (N_("Submitted for review"), self.submitted)]

    @property
    def done(self) -> int:
        return sum(1 for _, ok in self.steps if ok)


def onboarding_state(actor: Actor) -> OnboardingState:
    with unit_of_work(actor) as uow:
        d = own_doctor(uow.session, actor)
        photo = uow.session.scalar(select(func.count()).select_from(DoctorPhoto).where(DoctorPhoto.doctor_id == d.id))
        return OnboardingState(d.status, d.submitted_at is not None, d.display_name, d.specialty, d.rpps or "",
                               list(d.languages), d.price_cents, d.bio, list(d.education), list(d.expertise),
                               d.philosophy, d.timezone, bool(photo), d.weekly_hours is not None)


def review_status(actor: Actor) -> str:
    """The acting doctor's review state: pending, approved or suspended."""
    with unit_of_work(actor) as uow:
        return own_doctor(uow.session, actor).status


def save_profile(actor: Actor, profile: ProfileInput) -> OnboardingState:
    """Save the doctor's own professional profile (SPEC §19). An RPPS already registered → 409."""
    try:
        with unit_of_work(actor) as uow:
            s = uow.session
            doctor = own_doctor(s, actor)
            if s.scalar(select(func.count()).select_from(Doctor).where(Doctor.rpps == profile.rpps,
                                                                       Doctor.id != doctor.id)):
                raise DuplicateRpps()
            s.execute(update(Doctor).where(Doctor.id == doctor.id).values(
                display_name=profile.name, specialty=profile.specialty, rpps=profile.rpps,
                languages=profile.languages, price_cents=profile.price_cents, bio=profile.bio,
                education=profile.education, expertise=profile.expertise, philosophy=profile.philosophy,
                timezone=profile.timezone))
            record_audit(s, actor, action="doctor.profile_updated", subject_type="doctor", subject_id=str(doctor.id),
                         at=clock.now(), details={})
    except IntegrityError as exc:  # two doctors saving one RPPS at the same moment
        raise DuplicateRpps() from exc
    return onboarding_state(actor)


def submit_for_review(actor: Actor) -> OnboardingState:
    """"Submitted for review": the profile must be complete (specialty and RPPS at least)."""
    with unit_of_work(actor) as uow:
        doctor = own_doctor(uow.session, actor)
        if not (doctor.specialty and doctor.rpps):
            raise ValidationFailed(N_("Complete your professional profile (specialty and RPPS) before submitting it."))
        if doctor.submitted_at is None:
            now = clock.now()
            uow.session.execute(update(Doctor).where(Doctor.id == doctor.id).values(submitted_at=now))
            record_audit(uow.session, actor, action="doctor.submitted", subject_type="doctor",
                         subject_id=str(doctor.id), at=now, details={})
    return onboarding_state(actor)


# --- approval and suspension -------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    id: uuid.UUID
    name: str
    email: str
    specialty: str
    rpps: str | None
    status: str
    submitted_at: datetime | None
    status_reason: str | None


def doctors_for_review(actor: Actor) -> list[ReviewRow]:
    """Every doctor with their review state, those waiting for a decision first."""
    _require_staff(actor)
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(
            select(Doctor, User.email).join(User, User.id == Doctor.user_id)
            .order_by((Doctor.status == "pending").desc(), Doctor.submitted_at.desc().nulls_last(), Doctor.number))
        return [ReviewRow(d.id, d.display_name, email, d.specialty, d.rpps, d.status, d.submitted_at,
                          d.status_reason) for d, email in rows]


def _reason(reason: str | None) -> str:
    value = (reason or "").strip()
    if not value:
        raise ValidationFailed(N_("Give a reason: it is kept in the audit log."))
    if len(value) > MAX_REASON:
        raise ValidationFailed(N_("The reason can be at most %(limit)d characters."), params={"limit": MAX_REASON})
    return value


def approve_doctor(actor: Actor, doctor_id: uuid.UUID, reason: str) -> None:
    """Approve (or reinstate) a doctor: listed and bookable from now on. Audited with the reason."""
    _require_staff(actor)
    reason = _reason(reason)
    with unit_of_work(actor) as uow:
        doctor = uow.session.scalar(select(Doctor).where(Doctor.id == doctor_id).with_for_update())
        if doctor is None:
            raise NotFound(N_("No such doctor."))
        if doctor.status == "approved":
            return
        if not (doctor.specialty and doctor.rpps) and doctor.status == "pending":
            raise InvalidTransition(N_("This doctor's profile is not complete yet (specialty and RPPS)."))
        now = clock.now()
        before = doctor.status
        doctor.status, doctor.status_reason, doctor.status_changed_at = "approved", reason, now
        record_audit(uow.session, actor, action="doctor.approved", subject_type="doctor", subject_id=str(doctor.id),
                     at=now, details={"reason": reason, "from": before})
        email, locale = uow.session.execute(select(User.email, User.locale).where(User.id == doctor.user_id)).one()
        message = render("doctor_approved", language_of(locale), doctor_name=doctor.display_name,
                         portal_url=f"{config.current().public_base_url}/doctor/")
        queue_email(uow, Email(to=email, subject=message.subject, text=message.text, html=message.html))


def _future_appointments(session, doctor_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    return list(session.scalars(select(Appointment.id).where(
        Appointment.doctor_id == doctor_id, Appointment.status.in_(ACTIVE_STATUSES), Appointment.start_at > now)
        .order_by(Appointment.start_at)))


def suspension_impact(actor: Actor, doctor_id: uuid.UUID) -> int:
    """How many future appointments a suspension would cancel (the confirmation states it)."""
    _require_staff(actor)
    with unit_of_work(actor) as uow:
        if uow.session.get(Doctor, doctor_id) is None:
            raise NotFound(N_("No such doctor."))
        return len(_future_appointments(uow.session, doctor_id, clock.now()))


def suspend_doctor(actor: Actor, doctor_id: uuid.UUID, reason: str, *, confirmed_count: int) -> int:
    """Suspend (SPEC §19): hidden at once; every future appointment cancelled by `admin` with a full
    refund and notices. `confirmed_count` is the number the admin was shown: if bookings changed
    since, nothing happens and the new number is asked for (ERR_INVALID_TRANSITION). The
    cancellations are owed in this transaction (`core.owed`) and run now; each is idempotent, so a
    crash half-way is finished by the sweep and nothing is refunded twice. Returns how many."""
    _require_staff(actor)
    reason = _reason(reason)
    if actor.user_id is None and actor.role != "system":
        raise Forbidden(N_("Only admins can suspend doctors."))
    with unit_of_work(actor) as uow:
        s = uow.session
        doctor = s.scalar(select(Doctor).where(Doctor.id == doctor_id).with_for_update())
        if doctor is None:
            raise NotFound(N_("No such doctor."))
        if doctor.status == "suspended":
            raise InvalidTransition(N_("This doctor is already suspended."))
        now = clock.now()
        # Locked the doctor row: bookings take the same lock (core.scheduling.holds.lock_doctor).
        future = _future_appointments(s, doctor.id, now)
        if len(future) != confirmed_count:
            raise InvalidTransition(N_("Bookings changed: suspending now cancels %(count)d appointments. "
                                       "Confirm again."),
                                    params={"count": len(future)}, details={"count": len(future)})
        doctor.status, doctor.status_reason, doctor.status_changed_at = "suspended", reason, now
        record_audit(s, actor, action="doctor.suspended", subject_type="doctor", subject_id=str(doctor.id),
                     at=now, details={"reason": reason, "appointments": len(future)})
        uow.defer_once(f"suspend:{doctor.id}:{now.isoformat()}", "core.doctors.onboarding.cancel_future_appointments",
                       str(doctor.id), str(actor.user_id) if actor.user_id else None, reason)
    cancel_future_appointments(str(doctor_id), str(actor.user_id) if actor.user_id else None, reason)
    return len(future)


def cancel_future_appointments(doctor_id: str, admin_user_id: str | None, reason: str) -> int:
    """Cancel, as `admin`, each future active appointment of a suspended doctor (an owed effect:
    idempotent — a cancelled appointment is no longer active, so it is never refunded twice)."""
    with unit_of_work(SYSTEM) as uow:
        doctor = uow.session.get(Doctor, uuid.UUID(doctor_id))
        if doctor is None or doctor.status != "suspended":
            return 0
        ids = _future_appointments(uow.session, doctor.id, clock.now())
    admin = Actor(uuid.UUID(admin_user_id) if admin_user_id else _any_admin(), "admin")
    done = 0
    for appointment_id in ids:
        try:
            changes.cancel(admin, appointment_id, PATIENT_REASON)
            done += 1
        except InvalidTransition:  # cancelled meanwhile (by the patient, or another run): nothing owed
            continue
    return done


def _any_admin() -> uuid.UUID:
    with unit_of_work(SYSTEM) as uow:
        found = uow.session.scalar(select(User.id).where(User.role == "admin").order_by(User.created_at).limit(1))
    if found is None:
        raise Forbidden(N_("No admin account exists to cancel the appointments."))
    return found
