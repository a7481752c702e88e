"""Notices about an appointment (SPEC §11): booking confirmation, reschedule and cancellation, to the
patient and to the doctor, each email with its calendar invite.

The services that change an appointment defer `jobs.notify.appointment_event(event, id, sequence)`
in their own transaction (checkout's `confirm_paid`, `changes.reschedule`, `changes.cancel`), so a
notice leaves only for a committed change. The job reads the appointment as it is then and queues
each message once: its idempotency key is `<event>:<appointment>:<sequence>:<audience>:<channel>`,
unique in the outbox, so the job may run twice or on two workers at once.

Each recipient reads in their language (`users.locale`) and time zone (`users.timezone`, else the
zone their browser last reported, `users.device_zone`, else the doctor's zone, else Europe/Paris).
Invites share one UID per appointment; SEQUENCE is the number of reschedules (a cancellation one more).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core import clock, config
from core.actor import SYSTEM
from core.db import unit_of_work
from core.i18n import translate
from core.models import Appointment, AppointmentChange, AuditEvent, Doctor, Patient, Payment, Receipt, User
from core.notify.invites import Invite, build_ics
from core.notify.outbox import Attachment, Outgoing, queue_once
from core.notify.rendering import format_money, format_when, language_of, render, zone_of
from core.privacy.verification import may_email

EVENTS = ("confirmed", "rescheduled", "cancelled")
BOOKED = ("paid", "confirmed")  # statuses a patient was told about


@dataclass(frozen=True)
class Party:
    user_id: uuid.UUID
    email: str
    name: str
    language: str
    zone: ZoneInfo
    active: bool
    email_reminders: bool = True
    sms_reminders: bool = False
    phone: str | None = None
    email_verified: bool = True  # SPEC §21: reminders and documents wait for a verified address


@dataclass(frozen=True)
class Facts:
    appointment_id: uuid.UUID
    status: str
    start: datetime
    end: datetime
    reschedule_count: int
    cancelled_by: str | None
    currency: str
    doctor_name: str
    patient: Party
    doctor: Party


def load_facts(session: Session, appointment_ids: list[uuid.UUID]) -> dict[uuid.UUID, Facts]:
    """The appointments with both parties, as the system (one query)."""
    if not appointment_ids:
        return {}
    patient_user, doctor_user = aliased(User), aliased(User)
    rows = session.execute(
        select(Appointment, Doctor.display_name, Doctor.timezone, Patient.phone, patient_user, doctor_user)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(patient_user, patient_user.id == Patient.user_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(doctor_user, doctor_user.id == Doctor.user_id)
        .where(Appointment.id.in_(appointment_ids))).all()
    facts = {}
    for a, doctor_name, doctor_zone, phone, pu, du in rows:
        patient = Party(pu.id, pu.email, pu.full_name, language_of(pu.locale),
                        zone_of(pu.timezone, pu.device_zone, doctor_zone),
                        pu.is_active, pu.email_reminders, pu.sms_reminders, phone, may_email(pu.email_verified_at))
        doctor = Party(du.id, du.email, du.full_name or doctor_name, language_of(du.locale),
                       zone_of(du.timezone, du.device_zone, doctor_zone), du.is_active)
        facts[a.id] = Facts(a.id, a.status, a.start_at, a.end_at, a.reschedule_count, a.cancelled_by, a.currency,
                            doctor_name, patient, doctor)
    return facts


def notify_appointment_event(event: str, appointment_id: uuid.UUID, sequence: int | None = None) -> int:
    """Queue the notices of one event (SPEC §11: confirmed | rescheduled | cancelled); returns how many
    messages this call queued (0 when they were queued before, or the event is stale: a newer
    change of the same appointment sends its own notice)."""
    if event not in EVENTS:
        raise ValueError(f"unknown appointment event {event!r}")
    with unit_of_work(SYSTEM) as uow:
        facts = load_facts(uow.session, [appointment_id]).get(appointment_id)
        if facts is None or not _current(uow.session, event, facts, sequence):
            return 0
        key_sequence = facts.reschedule_count if sequence is None else sequence
        messages = _messages(uow.session, event, facts)
        queued = [queue_once(uow, message, f"{event}:{appointment_id}:{key_sequence}:{audience}:{message.channel}")
                  for audience, message in messages]
        return sum(1 for q in queued if q is not None)


def _current(session: Session, event: str, facts: Facts, sequence: int | None) -> bool:
    if event == "cancelled":
        return facts.status == "cancelled" and _was_booked(session, facts.appointment_id)
    if facts.status not in BOOKED:
        return False  # cancelled (or refunded) since: that notice says it
    return not (event == "rescheduled" and sequence is not None and sequence < facts.reschedule_count)


def _was_booked(session: Session, appointment_id: uuid.UUID) -> bool:
    """Whether the cancelled appointment had been paid for: a hold given back before paying was
    never announced, so its cancellation is not either."""
    before = session.scalar(select(AppointmentChange.before["status"].astext).where(
        AppointmentChange.appointment_id == appointment_id, AppointmentChange.action == "cancel")
        .order_by(AppointmentChange.created_at.desc()).limit(1))
    return before in BOOKED


def _previous_start(session: Session, facts: Facts) -> datetime | None:
    """Where the last reschedule moved the appointment from."""
    before = session.scalar(select(AppointmentChange.before["start"].astext).where(
        AppointmentChange.appointment_id == facts.appointment_id, AppointmentChange.action == "reschedule",
        AppointmentChange.after["rescheduleCount"].as_integer() == facts.reschedule_count).limit(1))
    return datetime.fromisoformat(before) if before else None


def _refund(session: Session, appointment_id: uuid.UUID) -> dict:
    details = session.scalar(select(AuditEvent.details).where(
        AuditEvent.subject_type == "appointment", AuditEvent.subject_id == str(appointment_id),
        AuditEvent.action == "appointment.cancelled").order_by(AuditEvent.id.desc()).limit(1))
    return (details or {}).get("refund") or {}


def links(appointment_id: uuid.UUID) -> dict[str, str]:
    base = config.current().public_base_url
    return {"join_url": f"{base}/visit/{appointment_id}", "devices_url": f"{base}/devices",
            "dashboard_url": f"{base}/dashboard", "book_url": f"{base}/doctors",
            "settings_url": f"{base}/dashboard/settings#notifications", "portal_url": f"{base}/doctor/"}


def _messages(session: Session, event: str, facts: Facts) -> list[tuple[str, Outgoing]]:
    """(audience, message) for each recipient of the event: the patient, then the doctor."""
    method = "CANCEL" if event == "cancelled" else "REQUEST"
    sequence = facts.reschedule_count + (1 if event == "cancelled" else 0)
    by = facts.cancelled_by if event == "cancelled" else _rescheduled_by(session, facts) if event == "rescheduled" \
        else None
    previous = _previous_start(session, facts) if event == "rescheduled" else None
    refund = _refund(session, facts.appointment_id) if event == "cancelled" else {}
    names = {"confirmed": ("confirmed", "doctor_booked"), "rescheduled": ("rescheduled", "doctor_rescheduled"),
             "cancelled": ("cancelled", "doctor_cancelled")}[event]
    receipt_url = _receipt_url(session, facts.appointment_id) if event == "confirmed" else ""
    out = []
    for audience, party, template in (("patient", facts.patient, names[0]), ("doctor", facts.doctor, names[1])):
        if not party.active:
            continue  # an erased account (its address is a placeholder) or a doctor who left
        lang = party.language
        values = {
            **links(facts.appointment_id), "by": by,
            "patient_name": facts.patient.name if facts.patient.active else "",
            "doctor_name": facts.doctor_name, "zone_name": party.zone.key,
            "when": format_when(facts.start, party.zone, lang),
            "previous_when": format_when(previous, party.zone, lang) if previous else "",
            "refund_card": _money(refund.get("refundCents"), facts.currency, lang),
            "refund_credit": _money(refund.get("creditCents"), facts.currency, lang),
            "late_credit": _money(refund.get("lateCreditCents"), facts.currency, lang),
            "receipt_url": receipt_url if audience == "patient" else "",
        }
        message = render(template, lang, **values)
        other = facts.doctor_name if audience == "patient" else (values["patient_name"] or "Doktu patient")
        invite = Invite(facts.appointment_id, facts.start, facts.end, party.zone.key,
                        summary=_summary(lang, other), description=message.text, url=values["join_url"],
                        attendee_email=party.email, attendee_name=party.name, sequence=sequence, method=method,
                        stamp=clock.now())
        attachment = Attachment(invite.filename, invite.content_type, build_ics(invite))
        out.append((audience, Outgoing("email", party.email, message.text, message.subject, message.html,
                                       (attachment,))))
    return out


def _receipt_url(session: Session, appointment_id: uuid.UUID) -> str:
    """The confirmation carries the receipt as a link, never as an attachment (SPEC §18)."""
    receipt_id = session.scalar(select(Receipt.id).where(Receipt.appointment_id == appointment_id,
                                                         Receipt.kind == "receipt"))
    return f"{config.current().public_base_url}/dashboard/billing/receipts/{receipt_id}.pdf" if receipt_id else ""


def _rescheduled_by(session: Session, facts: Facts) -> str | None:
    return session.scalar(select(AppointmentChange.actor_role).where(
        AppointmentChange.appointment_id == facts.appointment_id, AppointmentChange.action == "reschedule",
        AppointmentChange.after["rescheduleCount"].as_integer() == facts.reschedule_count).limit(1))


def _summary(language: str, other: str) -> str:
    return translate(language, "Video consultation with %(name)s", name=other)


def _money(cents: int | None, currency: str, language: str) -> str:
    return format_money(cents, currency, language) if cents else ""


REFUND_REASONS = ("duplicate", "unavailable")


def notify_payment_refunded(payment_id: uuid.UUID, why: str) -> int:
    """Tell the patient that a payment was refunded in full without their asking (issue 23,
    SPEC §8, §11): `duplicate` — the appointment was already paid; `unavailable` — the payment came
    after the time was given to someone else. Queued once per payment (its dedupe key)."""
    if why not in REFUND_REASONS:
        raise ValueError(f"unknown refund reason {why!r}")
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.get(Payment, payment_id)
        facts = load_facts(uow.session, [payment.appointment_id]).get(payment.appointment_id) if payment else None
        if facts is None or not facts.patient.active:
            return 0
        party, lang = facts.patient, facts.patient.language
        message = render("payment_refunded", lang, **links(facts.appointment_id), why=why,
                         patient_name=party.name, doctor_name=facts.doctor_name, zone_name=party.zone.key,
                         when=format_when(facts.start, party.zone, lang), credit=payment.provider == "credit",
                         amount=format_money(payment.amount_cents, payment.currency, lang))
        queued = queue_once(uow, Outgoing("email", party.email, message.text, message.subject, message.html),
                            f"refunded:{facts.appointment_id}:{payment.id}:patient:email")
        return int(queued is not None)


def resend_notice(uow, appointment_id: uuid.UUID, nonce: str) -> int:
    """Queue the patient's current notice of the appointment again (an admin's "resend", SPEC §22):
    the booking confirmation while it is booked, the cancellation once cancelled; in the caller's transaction,
    which must be allowed to write the outbox (the system's). `nonce` makes the dedupe keys new, so
    a resend is sent even though the first notice was. Returns how many messages were queued."""
    facts = load_facts(uow.session, [appointment_id]).get(appointment_id)
    if facts is None:
        return 0
    event = "cancelled" if facts.status == "cancelled" else "confirmed" if facts.status in BOOKED else None
    if event is None:
        return 0
    queued = [queue_once(uow, message, f"resend:{nonce}:{event}:{appointment_id}:{audience}:{message.channel}")
              for audience, message in _messages(uow.session, event, facts) if audience == "patient"]
    return sum(1 for q in queued if q is not None)
