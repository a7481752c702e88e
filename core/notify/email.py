"""Email: queued in `outbox_messages` in the caller's transaction, delivered after the commit by a
job through SendGrid (SENDGRID_API_KEY), SMTP (SMTP_URL, e.g. MailHog) or, with neither, kept as
a dev message that the developers' outbox page shows."""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update

from core import clock
from core.actor import SYSTEM
from core.db import UnitOfWork, unit_of_work
from core.models import OutboxMessage

log = logging.getLogger(__name__)
SENDER = "Doktu <no-reply@doktu.eu>"
SENDGRID_URL = "https://api.sendgrid.com/v3/mail/send"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None


def queue_email(uow: UnitOfWork, email: Email) -> uuid.UUID:
    """Store the message in this transaction; a job delivers it once the transaction commits."""
    row = OutboxMessage(channel="email", recipient=email.to, subject=email.subject, body_text=email.text,
                        body_html=email.html, status="queued")
    uow.session.add(row)
    uow.session.flush()
    uow.defer("jobs.notify.deliver_email", str(row.id))
    return row.id


def deliver(outbox_id: uuid.UUID, *, sendgrid_key: str | None, smtp_url: str | None,
            transport: httpx.BaseTransport | None = None) -> str:
    """Send one queued email; returns the status written back to the outbox."""
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.get(OutboxMessage, outbox_id)
        if row is None or row.status in ("sent", "dev"):
            return row.status if row else "missing"
        email = Email(row.recipient, row.subject or "", row.body_text, row.body_html)
    if sendgrid_key:
        provider = "sendgrid"
        _send_sendgrid(email, sendgrid_key, transport)
    elif smtp_url:
        provider = "smtp"
        _send_smtp(email, smtp_url)
    else:
        provider = "dev-outbox"
    status = "dev" if provider == "dev-outbox" else "sent"
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                            .values(status=status, provider=provider, sent_at=clock.now()))
    log.info("email delivered", extra={"outboxId": str(outbox_id), "provider": provider})
    return status


def _send_sendgrid(email: Email, key: str, transport: httpx.BaseTransport | None) -> None:
    content = [{"type": "text/plain", "value": email.text}]
    if email.html:
        content.append({"type": "text/html", "value": email.html})
    payload = {"personalizations": [{"to": [{"email": email.to}]}],
               "from": {"email": "no-reply@doktu.eu", "name": "Doktu"},
               "subject": email.subject, "content": content}
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), transport=transport) as client:
        response = client.post(SENDGRID_URL, json=payload, headers={"Authorization": f"Bearer {key}"})
    if response.status_code >= 300:  # RQ retries the job with backoff
        raise RuntimeError(f"SendGrid answered {response.status_code}")


def _send_smtp(email: Email, smtp_url: str) -> None:
    parts = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, email.to, email.subject
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    with smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=10) as smtp:
        smtp.send_message(message)
