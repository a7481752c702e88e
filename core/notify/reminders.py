"""Reminders 24 hours and 1 hour before each consultation (SPEC §11), by email and/or SMS as the
patient chose (`users.email_reminders`, `users.sms_reminders` with `patients.phone`).

`send_due_reminders` is the RQ cron job's service (every 5 minutes, `jobs/schedule.py`): it reads
the booked appointments of the next 24 hours, asks the pure rule (`core.notify.timing`) which
reminder is due, and queues it once — the idempotency key includes the reschedule count, so a
moved appointment is reminded of its new time, and several workers sweeping at once queue it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core import clock
from core.actor import SYSTEM
from core.db import UnitOfWork, unit_of_work
from core.models import OutboxMessage
from core.notify.appointments import Facts, links, load_facts
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import format_when, render, render_sms
from core.notify.timing import LONGEST_LEAD, due_reminder


def send_due_reminders(now: datetime | None = None) -> int:
    """Queue every reminder due now (SPEC §11: 24 h and 1 h before); returns how many messages this
    sweep queued. Appointments whose reminder is already in the outbox are skipped before anything
    is rendered (the sweep sees each one every 5 minutes while its window is open)."""
    now = now or clock.now()
    queued = 0
    with unit_of_work(SYSTEM) as uow:
        upcoming = upcoming_with_scheduled_at(uow.session, now, now + LONGEST_LEAD)
        due = {appointment_id: lead for appointment_id, scheduled_at, start in upcoming
               if (lead := due_reminder(start, now, scheduled_at))}
        wanted = {facts.appointment_id: (facts, due[facts.appointment_id], channels(facts))
                  for facts in load_facts(uow.session, list(due)).values()}
        keys = [reminder_key(facts, lead, channel) for facts, lead, wanted_channels in wanted.values()
                for channel in wanted_channels]
        done = set(uow.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
        for facts, lead, wanted_channels in wanted.values():
            missing = [c for c in wanted_channels if reminder_key(facts, lead, c) not in done]
            if missing:
                queued += queue_reminders(uow, facts, lead, missing)
    return queued


def channels(facts: Facts) -> list[str]:
    """How the patient wants reminders: email (`users.email_reminders`, to a verified address only:
    SPEC §21), SMS (`users.sms_reminders` with a number in `patients.phone`), both or neither."""
    patient = facts.patient
    if not patient.active:
        return []
    return [c for c, wanted in (("email", patient.email_reminders and patient.email_verified),
                                ("sms", patient.sms_reminders and patient.phone))
            if wanted]


def reminder_key(facts: Facts, lead: str, channel: str) -> str:
    return f"reminder-{lead}:{facts.appointment_id}:{facts.reschedule_count}:patient:{channel}"


_SCHEDULED_AT = text("""
    SELECT a.id, a.start_at,
           greatest((SELECT max(f.occurred_at) FROM funnel_events f
                      WHERE f.appointment_id = a.id AND f.step = 'paid'),
                    (SELECT max(c.created_at) FROM appointment_changes c
                      WHERE c.appointment_id = a.id AND c.action = 'reschedule')) AS scheduled_at
      FROM appointments a
     WHERE a.status IN ('paid', 'confirmed') AND a.start_at > :now AND a.start_at <= :until
""")


def upcoming_with_scheduled_at(session: Session, now: datetime,
                               until: datetime) -> list[tuple[uuid.UUID, datetime | None, datetime]]:
    """Booked appointments starting in (now, until]: (id, the moment it got its current time — paid,
    or last moved; None when neither is recorded —, start)."""
    return [(r.id, r.scheduled_at, r.start_at) for r in session.execute(_SCHEDULED_AT, {"now": now, "until": until})]


def reminder_messages(facts: Facts, lead: str, wanted_channels: list[str]) -> list[Outgoing]:
    """The patient's reminder in their language and zone, on the channels asked for."""
    patient, lang = facts.patient, facts.patient.language
    values = {**links(facts.appointment_id), "lead": lead, "patient_name": patient.name,
              "doctor_name": facts.doctor_name, "zone_name": patient.zone.key,
              "when": format_when(facts.start, patient.zone, lang)}
    out = []
    if "email" in wanted_channels:
        message = render("reminder", lang, **values)
        out.append(Outgoing("email", patient.email, message.text, message.subject, message.html))
    if "sms" in wanted_channels and patient.phone:
        out.append(Outgoing("sms", patient.phone, render_sms("reminder", lang, **values)))
    return out


def queue_reminders(uow: UnitOfWork, facts: Facts, lead: str, wanted_channels: list[str]) -> int:
    queued = [queue_once(uow, message, reminder_key(facts, lead, message.channel))
              for message in reminder_messages(facts, lead, wanted_channels)]
    return sum(1 for q in queued if q is not None)
