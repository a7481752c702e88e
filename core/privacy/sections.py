"""What a data export contains (SPEC §21, GDPR art. 15 and 20): a registry of sections.

A `Section` is one JSON file of the ZIP: its rows, read for one person, and a description of each
field for the README. A `FileSection` adds whole files (PDF documents, receipts) under a folder.
Adding a kind of data to the export is one more `@section(...)` function here (or in the module
that owns the table, imported by `core.privacy.export`), with its fields described.

Sections run inside the export's transaction **as the person** (their own RLS context), so a
section cannot read another patient's rows even by mistake. A few tables are readable only by the
system (the outbox, the audit trail, funnel events): sections over those say `as_system=True`
and filter on the person explicitly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from core import i18n
from core.documents.issuing import document_pdf
from core.documents.receipts import receipt_pdf
from core.models import (
    Appointment,
    AppointmentChange,
    AuditEvent,
    Consent,
    CreditEntry,
    Doctor,
    Document,
    ExternalBusy,
    FunnelEvent,
    Message,
    OutboxMessage,
    Patient,
    Payment,
    Rating,
    Receipt,
    Slot,
    Subscription,
    User,
    VideoTest,
    rating_stats,
)

PATIENT, DOCTOR, ADMIN = "patient", "doctor", "admin"
EVERYONE = (PATIENT, DOCTOR, ADMIN)


@dataclass(frozen=True)
class Subject:
    """The person whose data is exported."""

    user_id: uuid.UUID
    role: str
    email: str
    phone: str | None = None
    patient_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Section:
    name: str  # the file: <name>.json
    title: str
    about: str
    fields: dict[str, str]  # field name -> what it means (the README)
    roles: tuple[str, ...]
    rows: Callable[[Session, Subject], list[dict]]
    as_system: bool = False


@dataclass(frozen=True)
class ExportFile:
    path: str  # inside the ZIP, e.g. "documents/2026-05-01-prescription.pdf"
    content: bytes


@dataclass(frozen=True)
class FileSection:
    folder: str
    title: str
    about: str
    roles: tuple[str, ...]
    files: Callable[[Session, Subject], list[ExportFile]]
    as_system: bool = False


SECTIONS: list[Section] = []
FILE_SECTIONS: list[FileSection] = []


def section(name: str, title: str, about: str, fields: dict[str, str], *, roles: tuple[str, ...] = EVERYONE,
            as_system: bool = False):
    """Register a JSON section (decorator over `rows(session, subject) -> list[dict]`)."""
    def register(rows: Callable[[Session, Subject], list[dict]]):
        SECTIONS.append(Section(name, title, about, fields, roles, rows, as_system))
        return rows
    return register


def file_section(folder: str, title: str, about: str, *, roles: tuple[str, ...] = (PATIENT,),
                 as_system: bool = False):
    """Register a folder of files (decorator over `files(session, subject) -> list[ExportFile]`)."""
    def register(files: Callable[[Session, Subject], list[ExportFile]]):
        FILE_SECTIONS.append(FileSection(folder, title, about, roles, files, as_system))
        return files
    return register


# --- every role ---------------------------------------------------------------------------------

@section("account", "Your account", "The account you sign in with.", {
    "email": "The address you sign in with and we write to.",
    "emailVerifiedAt": "When you confirmed this address (null: not yet).",
    "fullName": "Your name as you gave it.",
    "role": "patient, doctor or admin.",
    "locale": "The language of our emails to you.",
    "timezone": "The time zone you chose for showing times (null: your device's).",
    "emailReminders": "Whether appointment reminders go to you by email.",
    "smsReminders": "Whether appointment reminders go to you by SMS.",
    "isActive": "Whether the account can sign in.",
    "createdAt": "When the account was created.",
    "lastLoginAt": "Your last sign-in.",
})
def _account(s: Session, who: Subject) -> list[dict]:
    u = s.get(User, who.user_id)
    return [{"email": u.email, "emailVerifiedAt": u.email_verified_at, "fullName": u.full_name, "role": u.role,
             "locale": u.locale, "timezone": u.timezone, "emailReminders": u.email_reminders,
             "smsReminders": u.sms_reminders, "isActive": u.is_active, "createdAt": u.created_at,
             "lastLoginAt": u.last_login_at}]


@section("consents", "Your consents", "Each acceptance of our terms, privacy notice and marketing emails.", {
    "kind": "terms, privacy or marketing.",
    "version": "The version of the text you accepted (see /legal/terms and /legal/privacy).",
    "acceptedAt": "When you accepted it.",
    "withdrawnAt": "When you withdrew it (marketing only; null: still given).",
})
def _consents(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(Consent).where(Consent.user_id == who.user_id).order_by(Consent.accepted_at))
    return [{"kind": c.kind, "version": c.version, "acceptedAt": c.accepted_at, "withdrawnAt": c.withdrawn_at}
            for c in rows]


@section("messages", "Messages", "Messages you sent or received in Doktu, with the other person's name.", {
    "id": "The message's reference.",
    "direction": "sent or received.",
    "with": "The other person (a doctor's name, or for doctors the patient's name).",
    "appointmentId": "The consultation the message is about, if any.",
    "body": "The text.",
    "createdAt": "When it was sent.",
    "readAt": "When the recipient read it.",
})
def _messages(s: Session, who: Subject) -> list[dict]:
    other_user, other_doctor = aliased(User), aliased(Doctor)
    other = func.coalesce(other_doctor.display_name, other_user.full_name)
    other_id = func.coalesce(
        func.nullif(Message.sender_id, who.user_id), Message.recipient_id)
    rows = s.execute(
        select(Message, other).outerjoin(other_user, other_user.id == other_id)
        .outerjoin(other_doctor, other_doctor.user_id == other_id)
        .where(or_(Message.sender_id == who.user_id, Message.recipient_id == who.user_id))
        .order_by(Message.created_at)).all()
    return [{"id": m.id, "direction": "sent" if m.sender_id == who.user_id else "received", "with": name,
             "appointmentId": m.appointment_id, "body": m.body, "createdAt": m.created_at, "readAt": m.read_at}
            for m, name in rows]


@section("video_tests", "Device tests", "Each camera, microphone and network test you ran before a consultation.", {
    "appointmentId": "The consultation it was run for, if any.",
    "outcome": "passed, audio_only (microphone without camera) or failed.",
    "details": "What each step measured (resolution, microphone level, bandwidth, echo, network reachability).",
    "createdAt": "When it ran. Device tests are deleted after 90 days.",
})
def _video_tests(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(VideoTest).where(VideoTest.user_id == who.user_id).order_by(VideoTest.created_at))
    return [{"appointmentId": t.appointment_id, "outcome": t.outcome, "details": t.details,
             "createdAt": t.created_at} for t in rows]


@section("notifications", "Emails and text messages", "Every email and SMS we sent you (or queued for you).", {
    "channel": "email or sms.",
    "subject": "The email's subject.",
    "body": "The plain-text body.",
    "status": "queued, sent, failed, or dev (kept locally, not sent: development servers).",
    "createdAt": "When it was written.",
    "sentAt": "When the provider accepted it.",
}, as_system=True)
def _notifications(s: Session, who: Subject) -> list[dict]:
    addresses = [a.lower() for a in (who.email, who.phone) if a]
    rows = s.scalars(select(OutboxMessage).where(func.lower(OutboxMessage.recipient).in_(addresses))
                     .order_by(OutboxMessage.created_at))
    return [{"channel": m.channel, "subject": m.subject, "body": m.body_text, "status": m.status,
             "createdAt": m.created_at, "sentAt": m.sent_at} for m in rows]


@section("activity", "Activity log", "Our audit trail about you: what you did, and who looked at or changed "
         "your records (the same list as Settings → Who looked at my record).", {
    "occurredAt": "When.",
    "actorRole": "Who acted: you (your role), a doctor, an admin, or the system.",
    "actorName": "The doctor's or admin's name when it was not you.",
    "action": "What happened, e.g. patient_record.viewed, appointment.cancelled, data_export.requested.",
    "subjectType": "What it was about: user, patient, appointment, …",
    "subjectId": "Its reference.",
    "details": "Figures and references recorded with it.",
}, as_system=True)
def _activity(s: Session, who: Subject) -> list[dict]:
    about_me = [(AuditEvent.subject_type == "user") & (AuditEvent.subject_id == str(who.user_id))]
    if who.patient_id:
        about_me.append((AuditEvent.subject_type == "patient") & (AuditEvent.subject_id == str(who.patient_id)))
    actor, actor_doctor = aliased(User), aliased(Doctor)
    rows = s.execute(
        select(AuditEvent, func.coalesce(actor_doctor.display_name, actor.full_name))
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(actor_doctor, actor_doctor.user_id == AuditEvent.actor_id)
        .where(or_(AuditEvent.actor_id == who.user_id, *about_me)).order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    return [{"occurredAt": e.occurred_at, "actorRole": e.actor_role,
             "actorName": None if e.actor_id == who.user_id else name, "action": e.action,
             "subjectType": e.subject_type, "subjectId": e.subject_id, "details": e.details} for e, name in rows]


# --- patients -----------------------------------------------------------------------------------

@section("health_profile", "Health profile", "What you told us about your health, and your mobile number.", {
    "dateOfBirth": "Your date of birth.",
    "gender": "female, male, non_binary or undisclosed.",
    "primaryConditions": "Conditions you listed.",
    "allergies": "Allergies you listed.",
    "phone": "Your mobile number for SMS reminders (E.164).",
    "onboardedAt": "When you completed the profile.",
    "createdAt": "When the profile was created.",
}, roles=(PATIENT,))
def _health_profile(s: Session, who: Subject) -> list[dict]:
    p = s.scalar(select(Patient).where(Patient.user_id == who.user_id))
    if p is None:
        return []
    return [{"dateOfBirth": p.date_of_birth, "gender": p.gender, "primaryConditions": list(p.primary_conditions),
             "allergies": list(p.allergies), "phone": p.phone, "onboardedAt": p.onboarded_at,
             "createdAt": p.created_at}]


_APPOINTMENT_FIELDS = {
    "id": "The consultation's reference.",
    "startAt": "Start (UTC, ISO 8601).",
    "endAt": "End.",
    "status": "pending, paid, confirmed, completed, cancelled or no_show.",
    "rescheduleCount": "How many times it was moved (at most 2).",
    "cancelledBy": "patient, doctor or admin, when cancelled.",
    "cancelReason": "The reason given when it was cancelled.",
    "cancelledAt": "When it was cancelled.",
    "completedAt": "When the doctor marked it completed.",
    "priceCents": "Its price in cents.",
    "currency": "ISO 4217 currency.",
    "createdAt": "When it was booked.",
}


def _appointment(a: Appointment) -> dict:
    return {"id": a.id, "startAt": a.start_at, "endAt": a.end_at, "status": a.status,
            "rescheduleCount": a.reschedule_count, "cancelledBy": a.cancelled_by, "cancelReason": a.cancel_reason,
            "cancelledAt": a.cancelled_at, "completedAt": a.completed_at, "priceCents": a.price_cents,
            "currency": a.currency, "createdAt": a.created_at}


@section("appointments", "Consultations", "Every consultation you booked, with its doctor.", {
    **_APPOINTMENT_FIELDS, "doctor": "The doctor's name.", "doctorSpecialty": "The doctor's specialty.",
}, roles=(PATIENT,))
def _appointments(s: Session, who: Subject) -> list[dict]:
    rows = s.execute(select(Appointment, Doctor.display_name, Doctor.specialty)
                     .join(Doctor, Doctor.id == Appointment.doctor_id)
                     .where(Appointment.patient_id == who.patient_id).order_by(Appointment.start_at)).all()
    return [{**_appointment(a), "doctor": name, "doctorSpecialty": specialty} for a, name, specialty in rows]


@section("appointment_changes", "Changes to consultations", "Each reschedule and cancellation, before and after.", {
    "appointmentId": "The consultation.",
    "action": "reschedule or cancel.",
    "actorRole": "Who made the change: patient, doctor, admin or system.",
    "reason": "The reason given.",
    "before": "The consultation before the change.",
    "after": "The consultation after the change.",
    "createdAt": "When.",
}, roles=(PATIENT,))
def _changes(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(AppointmentChange).join(Appointment, Appointment.id == AppointmentChange.appointment_id)
                     .where(Appointment.patient_id == who.patient_id).order_by(AppointmentChange.created_at))
    return [{"appointmentId": c.appointment_id, "action": c.action, "actorRole": c.actor_role, "reason": c.reason,
             "before": c.before, "after": c.after, "createdAt": c.created_at} for c in rows]


@section("payments", "Payments", "Card and credit payments, with refunds.", {
    "id": "The payment's reference.",
    "appointmentId": "The consultation it paid for (visits).",
    "kind": "visit or subscription.",
    "provider": "stripe (card), local (test card, development) or credit.",
    "providerPaymentId": "The card processor's reference.",
    "status": "pending, succeeded, failed, refunded, partially_refunded or cancelled.",
    "amountCents": "Amount in cents.",
    "refundedCents": "Refunded so far, in cents.",
    "currency": "ISO 4217 currency.",
    "failureCode": "Why a payment failed, as the processor said.",
    "createdAt": "When it started.",
    "updatedAt": "Its last change.",
}, roles=(PATIENT,))
def _payments(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(Payment).where(Payment.user_id == who.user_id).order_by(Payment.created_at))
    return [{"id": p.id, "appointmentId": p.appointment_id, "kind": p.kind, "provider": p.provider,
             "providerPaymentId": p.provider_payment_id, "status": p.status, "amountCents": p.amount_cents,
             "refundedCents": p.refunded_cents, "currency": p.currency, "failureCode": p.failure_code,
             "createdAt": p.created_at, "updatedAt": p.updated_at} for p in rows]


@section("subscriptions", "Plans", "Your Basic or Premium plans.", {
    "plan": "basic or premium.",
    "status": "incomplete, active, past_due or cancelled.",
    "creditsPerPeriod": "Consultation credits granted each month.",
    "currentPeriodEnd": "When the current paid month ends.",
    "createdAt": "When you subscribed.",
}, roles=(PATIENT,))
def _subscriptions(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(Subscription).where(Subscription.user_id == who.user_id).order_by(Subscription.created_at))
    return [{"plan": p.plan, "status": p.status, "creditsPerPeriod": p.credits_per_period,
             "currentPeriodEnd": p.current_period_end, "createdAt": p.created_at} for p in rows]


@section("credit_entries", "Credits", "Each line of your consultation-credit ledger.", {
    "kind": "grant, spend, refund_credit, late_credit or adjustment.",
    "amountCents": "The change, in cents (negative when spent).",
    "balanceAfterCents": "Your balance after it.",
    "appointmentId": "The consultation it concerns.",
    "paymentId": "The payment it concerns.",
    "note": "Why.",
    "createdAt": "When.",
}, roles=(PATIENT,))
def _credits(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(CreditEntry).where(CreditEntry.user_id == who.user_id).order_by(CreditEntry.created_at))
    return [{"kind": c.kind, "amountCents": c.amount_cents, "balanceAfterCents": c.balance_after_cents,
             "appointmentId": c.appointment_id, "paymentId": c.payment_id, "note": c.note, "createdAt": c.created_at}
            for c in rows]


@section("ratings", "Ratings", "The ratings you gave your doctors.", {
    "appointmentId": "The consultation rated.",
    "doctor": "The doctor's name.",
    "stars": "1 to 5.",
    "comment": "Your comment.",
    "createdAt": "When.",
}, roles=(PATIENT,))
def _ratings(s: Session, who: Subject) -> list[dict]:
    rows = s.execute(select(Rating, Doctor.display_name).join(Doctor, Doctor.id == Rating.doctor_id)
                     .where(Rating.patient_id == who.patient_id).order_by(Rating.created_at)).all()
    return [{"appointmentId": r.appointment_id, "doctor": name, "stars": r.stars, "comment": r.comment,
             "createdAt": r.created_at} for r, name in rows]


@section("funnel_events", "Booking steps", "The steps of booking we counted for you (for our statistics).", {
    "step": "availability_viewed, slot_held, signed_up, checkout_started, paid, device_test_passed or joined.",
    "occurredAt": "When.",
    "doctorId": "The doctor concerned.",
    "appointmentId": "The consultation concerned.",
}, roles=(PATIENT,), as_system=True)
def _funnel(s: Session, who: Subject) -> list[dict]:
    rows = s.scalars(select(FunnelEvent).where(FunnelEvent.user_id == who.user_id).order_by(FunnelEvent.occurred_at))
    return [{"step": f.step, "occurredAt": f.occurred_at, "doctorId": f.doctor_id, "appointmentId": f.appointment_id}
            for f in rows]


# --- doctors ------------------------------------------------------------------------------------

@section("doctor_profile", "Professional profile", "Your public profile and practice settings.", {
    "displayName": "Your name as patients see it.",
    "rpps": "Your RPPS number as shown on your profile.",
    "specialty": "Your specialty.",
    "languages": "Languages you consult in.",
    "bio": "About you.",
    "education": "Your education.",
    "expertise": "Your areas of expertise.",
    "philosophy": "Your care philosophy.",
    "faqs": "Your profile's questions and answers.",
    "timezone": "Your practice's time zone.",
    "online": "Whether you were taking bookings at the time of the export.",
    "ratingAverage": "Your average rating.",
    "ratingCount": "How many ratings.",
    "priceCents": "Your consultation price in cents.",
    "calScheduleId": "Your Cal.com schedule, if linked.",
    "createdAt": "When the profile was created.",
}, roles=(DOCTOR,))
def _doctor_profile(s: Session, who: Subject) -> list[dict]:
    d = s.get(Doctor, who.doctor_id)
    if d is None:
        return []
    # Computed from the real ratings (SPEC §18), never stored on the doctor.
    stats = s.execute(select(rating_stats.c.rating_avg, rating_stats.c.rating_count)
                      .where(rating_stats.c.doctor_id == d.id)).one_or_none()
    rating_avg, rating_count = stats if stats is not None else (None, 0)
    return [{"displayName": d.display_name, "rpps": f"10003{d.number}789", "specialty": d.specialty,
             "languages": list(d.languages), "bio": d.bio, "education": list(d.education),
             "expertise": list(d.expertise), "philosophy": d.philosophy, "faqs": d.faqs, "timezone": d.timezone,
             "online": d.online, "ratingAverage": rating_avg, "ratingCount": rating_count,
             "priceCents": d.price_cents, "calScheduleId": d.cal_schedule_id, "createdAt": d.created_at}]


@section("schedule", "Schedule", "The times you turned on or off, and busy times from your calendar.", {
    "kind": "slot (a time you set) or busy (from your Cal.com calendar).",
    "startAt": "Start.",
    "endAt": "End.",
    "isAvailable": "For slots: bookable (true) or turned off (false).",
    "source": "Where it came from: doctor, template, seed, or cal.com.",
}, roles=(DOCTOR,))
def _schedule(s: Session, who: Subject) -> list[dict]:
    slots = s.scalars(select(Slot).where(Slot.doctor_id == who.doctor_id).order_by(Slot.start_at))
    busy = s.scalars(select(ExternalBusy).where(ExternalBusy.doctor_id == who.doctor_id)
                     .order_by(ExternalBusy.start_at))
    return ([{"kind": "slot", "startAt": x.start_at, "endAt": x.end_at, "isAvailable": x.is_available,
              "source": x.source} for x in slots]
            + [{"kind": "busy", "startAt": b.start_at, "endAt": b.end_at, "isAvailable": False, "source": b.source}
               for b in busy])


@section("consultations", "Consultations you gave", "Your consultations as the treating doctor. Patients appear "
         "by initials only: their health data is theirs to export, and stays in your patient records.", {
    **_APPOINTMENT_FIELDS, "patientInitials": "The patient's initials.",
}, roles=(DOCTOR,))
def _consultations(s: Session, who: Subject) -> list[dict]:
    rows = s.execute(select(Appointment, User.full_name).join(Patient, Patient.id == Appointment.patient_id)
                     .outerjoin(User, User.id == Patient.user_id)
                     .where(Appointment.doctor_id == who.doctor_id).order_by(Appointment.start_at)).all()
    out = []
    for a, name in rows:
        row = _appointment(a)
        if a.cancelled_by != "doctor":  # the patient's own words are not the doctor's data
            row["cancelReason"] = None
        out.append({**row, "patientInitials": initials(name)})
    return out


def initials(name: str | None) -> str:
    """'Marie Curie' → 'M. C.'"""
    return " ".join(f"{part[0].upper()}." for part in (name or "").split() if part) or "—"


# --- files ----------------------------------------------------------------------------------------

@file_section("documents", "Your documents", "The consultation summaries, prescriptions and sick notes your "
              "doctors issued you, as PDFs (each with its verification code).")
def _documents(s: Session, who: Subject) -> list[ExportFile]:
    documents = s.scalars(select(Document).where(Document.patient_id == who.patient_id)
                          .order_by(Document.issued_at))
    language = _language(s, who)  # the labels in the patient's language, as on download (SPEC §20)
    return [ExportFile(f"{d.issued_at:%Y-%m-%d}-{d.kind.replace('_', '-')}-{d.verification_code}.pdf",
                       document_pdf(d, language)) for d in documents]


@file_section("receipts", "Your receipts", "A receipt for each card payment and a credit note for each refund, "
              "as PDFs.", roles=EVERYONE)
def _receipts(s: Session, who: Subject) -> list[ExportFile]:
    receipts = s.scalars(select(Receipt).where(Receipt.user_id == who.user_id).order_by(Receipt.issued_at))
    language = _language(s, who)
    return [ExportFile(f"{r.number}.pdf", receipt_pdf(r, language)) for r in receipts]


def _language(s: Session, who: Subject) -> str:
    return i18n.language_of(s.scalar(select(User.locale).where(User.id == who.user_id)))
