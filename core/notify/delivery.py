"""Delivering queued messages (SPEC §11): one job per outbox row, retried by RQ with backoff.

A delivery claims its row before calling the provider — status `sending` with a lease
(`SEND_LEASE`), committed — so two workers given the same row never both send it, and a worker
killed mid-send does not lead to a second send while the lease lasts; a row already sent, kept
(`dev`) or given up (`failed`) is left alone. A failed send records the attempt and raises
`DeliveryFailed` (its owed effect is retried by the owed sweep, `core.owed`); after `MAX_ATTEMPTS`
the row is marked `failed`. `redeliver_stuck` re-enqueues rows whose job was lost and rows whose
lease ran out (a killed worker): those are sent again — at least once, never twice within a
lease; the email carries the outbox id as its Message-ID / SendGrid custom argument (README).
Errors and logs name the outbox id, channel and provider, never an address, a number or a body.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, union_all, update

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
# How long a claimed message is not sent again by anyone else: far longer than a send takes (the
# providers' clients time out after 10 s), short enough that a crash delays a reminder little
# (the redelivery sweep runs every 2 minutes).
SEND_LEASE = timedelta(minutes=2)
DEV = "dev-outbox"
DEV_STATUS = "dev"


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
    afterwards (`sent`, `dev`, `failed`), or `busy` when another delivery holds its send lease,
    `missing` when there is no such row.

    Three steps, so that a worker killed mid-send does not lead to a second send within the lease:
    1. claim: `queued` (or `sending` with its lease over) → `sending` until now + SEND_LEASE,
       committed before the provider is called; 2. send, outside any transaction; 3. record the
    outcome, only if the claim is still ours (same attempt number)."""
    claim = claim_for_sending(outbox_id)
    if isinstance(claim, str):
        return claim
    adapter = mailer if claim.channel == "email" else sms
    failure: str | None = None
    try:
        if claim.channel == "email":
            adapter.send(Email(claim.recipient, claim.subject or "", claim.body_text, claim.body_html,
                               tuple(Attachment.from_json(a) for a in claim.attachments or []),
                               message_key=str(outbox_id)))
        else:
            adapter.send(Sms(claim.recipient, claim.body_text))
    except Exception as exc:  # any provider error: recorded, then retried by RQ
        failure = describe_error(adapter.name, exc)
    status = record_outcome(outbox_id, claim.attempts, adapter.name, failure)
    extra = {"outboxId": str(outbox_id), "channel": claim.channel, "provider": adapter.name,
             "attempt": claim.attempts}
    if failure is None:
        log.info("message delivered", extra=extra)
        return status
    log.warning("message not delivered", extra={**extra, "error": failure, "final": status == "failed"})
    if status == "failed":
        return status
    raise DeliveryFailed(failure)


@dataclass(frozen=True)
class Claim:
    channel: str
    recipient: str
    subject: str | None
    body_text: str
    body_html: str | None
    attachments: list
    attempts: int  # this attempt's number: the outcome is recorded only while it is still the row's


def claim_for_sending(outbox_id: uuid.UUID, now: datetime | None = None) -> Claim | str:
    """Step 1 of `deliver`, in its own committed transaction: mark the row `sending` with a lease
    (one statement: of two workers given the same row, one claims it). Returns the claim, or the
    row's status when it is not claimable (`busy` while another delivery's lease lasts)."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id,
                   (OutboxMessage.status == "queued")
                   | ((OutboxMessage.status == "sending") & (OutboxMessage.lease_until <= now)))
            .values(status="sending", lease_until=now + SEND_LEASE, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject,
                       OutboxMessage.body_text, OutboxMessage.body_html, OutboxMessage.attachments,
                       OutboxMessage.attempts)).one_or_none()
        if row is None:
            status = uow.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == outbox_id))
            return "missing" if status is None else "busy" if status in ("queued", "sending") else status
        return Claim(*row)


def record_outcome(outbox_id: uuid.UUID, attempt: int, provider: str, failure: str | None) -> str:
    """Step 3 of `deliver`: sent (`dev` without a provider), or back to `queued` for a retry, or
    `failed` after MAX_ATTEMPTS. A claim that was taken over meanwhile (its lease ran out and another
    delivery claimed the row) changes nothing: the row is the other delivery's now."""
    now = clock.now()
    if failure is None:
        values = {"status": DEV_STATUS if provider == DEV else "sent", "provider": provider, "sent_at": now,
                  "last_error": None, "lease_until": None}
    else:
        values = {"status": "failed" if attempt >= MAX_ATTEMPTS else "queued", "last_error": failure,
                  "lease_until": None}
    with unit_of_work(SYSTEM) as uow:
        status = uow.session.scalar(
            update(OutboxMessage).where(OutboxMessage.id == outbox_id, OutboxMessage.status == "sending",
                                        OutboxMessage.attempts == attempt)
            .values(**values).returning(OutboxMessage.status))
        if status is None:
            log.warning("send lease was taken over", extra={"outboxId": str(outbox_id), "attempt": attempt})
            status = uow.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == outbox_id))
    return status or "missing"


def describe_error(provider: str, exc: Exception) -> str:
    """What went wrong, safe to log: the provider, the exception's class and its status code.
    Providers' messages may quote the address or number, so they are left out."""
    code = next((getattr(exc, attr) for attr in ("status_code", "status", "smtp_code", "code")
                 if isinstance(getattr(exc, attr, None), int)), None)
    return f"{provider}: {type(exc).__name__}" + (f" {code}" if code is not None else "")


def redeliver_stuck(now: datetime | None = None) -> int:
    """Enqueue again (SPEC §11: retries), for a day, the messages still queued 10 minutes after they
    were written (their job was lost or gave up early) and those whose send lease ran out (a worker
    died between claiming and recording the send). Safe to overlap with a live job: the claim decides."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        queued = select(OutboxMessage.id, OutboxMessage.created_at).where(
            OutboxMessage.status == "queued", OutboxMessage.attempts < MAX_ATTEMPTS,
            OutboxMessage.created_at < now - STUCK_AFTER, OutboxMessage.created_at > now - GIVE_UP_AFTER)
        lapsed = select(OutboxMessage.id, OutboxMessage.created_at).where(
            OutboxMessage.status == "sending", OutboxMessage.lease_until <= now,
            OutboxMessage.created_at > now - GIVE_UP_AFTER)
        found = union_all(queued, lapsed).subquery()
        ids = uow.session.scalars(select(found.c.id).order_by(found.c.created_at).limit(500)).all()
        for row_id in ids:
            uow.defer(DELIVER_TASK, str(row_id))
    return len(ids)
