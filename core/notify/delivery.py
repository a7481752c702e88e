"""Delivering queued messages (SPEC §11): one job per outbox row, retried by RQ with backoff.

A delivery claims its row (`FOR UPDATE SKIP LOCKED`, status still `queued`) for the time of the
send, so two workers given the same row never both send it; a row already sent, kept (`dev`) or
given up (`failed`) is left alone. A failed send records the attempt and raises `DeliveryFailed`
(its owed effect is retried by the owed sweep, `core.owed`); after `MAX_ATTEMPTS` the row is marked
`failed`.
`redeliver_stuck` re-enqueues rows whose job was lost (Redis down at commit, a killed worker).
Errors and logs name the outbox id, channel and provider, never an address, a number or a body.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from core import clock
from core.actor import SYSTEM
from core.config import Settings
from core.db import unit_of_work
from core.models import OutboxMessage
from core.notify.email import Email, SendGridMailer, SmtpMailer
from core.notify.outbox import DELIVER_TASK, Attachment
from core.notify.sms import Sms, TwilioSms

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 4  # the first try and three retries
STUCK_AFTER = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=1)
DEV = "dev-outbox"


class DeliveryFailed(RuntimeError):
    """A provider refused or could not be reached; the message says which, without personal data."""


class Mailer(Protocol):
    name: str

    def send(self, email: Email) -> None: ...


class SmsSender(Protocol):
    name: str

    def send(self, sms: Sms) -> None: ...


class DevOutbox:
    """No provider configured: the outbox row is the message (shown on /dev/outbox)."""

    name = DEV

    def send(self, _message) -> None:
        return None


def mailer_for(settings: Settings) -> Mailer:
    if settings.sendgrid_api_key:
        return SendGridMailer(settings.sendgrid_api_key)
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return DevOutbox()


def sms_sender_for(settings: Settings) -> SmsSender:
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        return TwilioSms(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from_number)
    return DevOutbox()


def deliver(outbox_id: uuid.UUID, *, mailer: Mailer, sms: SmsSender) -> str:
    """Send one queued message (SPEC §11: email or SMS, retried); returns the row's status
    afterwards (`sent`, `dev`, `failed`), or `busy` when another worker is sending it right now,
    `missing` when there is no such row."""
    failure: str | None = None
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                                             OutboxMessage.status == "queued")
                                 .with_for_update(skip_locked=True))
        if row is None:
            status = uow.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == outbox_id))
            return "missing" if status is None else "busy" if status == "queued" else status
        adapter = mailer if row.channel == "email" else sms
        row.attempts += 1
        try:
            if row.channel == "email":
                adapter.send(Email(row.recipient, row.subject or "", row.body_text, row.body_html,
                                   tuple(Attachment.from_json(a) for a in row.attachments or [])))
            else:
                adapter.send(Sms(row.recipient, row.body_text))
        except Exception as exc:  # any provider error: recorded, then retried by RQ
            failure = describe_error(adapter.name, exc)
            row.last_error = failure
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
        else:
            row.status = "dev" if adapter.name == DEV else "sent"
            row.provider, row.sent_at, row.last_error = adapter.name, clock.now(), None
        status, channel, attempts = row.status, row.channel, row.attempts
    extra = {"outboxId": str(outbox_id), "channel": channel, "provider": adapter.name, "attempt": attempts}
    if failure is None:
        log.info("message delivered", extra=extra)
        return status
    log.warning("message not delivered", extra={**extra, "error": failure, "final": status == "failed"})
    if status == "failed":
        return status
    raise DeliveryFailed(failure)


def describe_error(provider: str, exc: Exception) -> str:
    """What went wrong, safe to log: the provider, the exception's class and its status code.
    Providers' messages may quote the address or number, so they are left out."""
    code = next((getattr(exc, attr) for attr in ("status_code", "status", "smtp_code", "code")
                 if isinstance(getattr(exc, attr, None), int)), None)
    return f"{provider}: {type(exc).__name__}" + (f" {code}" if code is not None else "")


def redeliver_stuck(now: datetime | None = None) -> int:
    """Enqueue again (SPEC §11: retries) the messages still queued 10 minutes after they were written (their job was
    lost or gave up early), for a day. Safe to overlap with a live job: the claim decides."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        ids = uow.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status == "queued", OutboxMessage.attempts < MAX_ATTEMPTS,
            OutboxMessage.created_at < now - STUCK_AFTER, OutboxMessage.created_at > now - GIVE_UP_AFTER,
        ).order_by(OutboxMessage.created_at).limit(500)).all()
        for row_id in ids:
            uow.defer(DELIVER_TASK, str(row_id))
    return len(ids)
