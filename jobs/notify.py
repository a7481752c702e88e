"""Notification jobs (SPEC §11): deliver one outbox message, queue an appointment event's notices,
sweep for due reminders and for messages whose delivery job was lost."""

import uuid

from core import runtime
from core.notify import delivery
from core.notify.appointments import notify_appointment_event, notify_payment_refunded
from core.notify.reminders import send_due_reminders


def deliver_message(outbox_id: str) -> str:
    rt = runtime.current()
    return delivery.deliver(uuid.UUID(outbox_id), mailer=rt.mailer, sms=rt.sms)


deliver_email = deliver_message  # the name jobs queued before SMS existed still resolve to


def appointment_event(event: str, appointment_id: str, sequence: int | None = None) -> int:
    return notify_appointment_event(event, uuid.UUID(appointment_id), sequence)


def payment_refunded(payment_id: str, why: str) -> int:
    return notify_payment_refunded(uuid.UUID(payment_id), why)


def send_reminders_job() -> int:
    return send_due_reminders()


def redeliver_outbox_job() -> int:
    return delivery.redeliver_stuck()
