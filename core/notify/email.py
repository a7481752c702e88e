"""Email: queued in `outbox_messages` in the caller's transaction, delivered after the commit by a
job through SendGrid's client (SENDGRID_API_KEY), SMTP (SMTP_URL, e.g. MailHog) or, with neither,
kept as a dev message that the developers' outbox page shows (`core.notify.delivery`)."""

from __future__ import annotations

import base64
import logging
import smtplib
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from core.db import UnitOfWork
from core.models import OutboxMessage
from core.notify.outbox import DELIVER_TASK, Attachment

SENDER_ADDRESS = "no-reply@doktu.eu"
SENDER_NAME = "Doktu"
SENDER = f"{SENDER_NAME} <{SENDER_ADDRESS}>"
TIMEOUT_SECONDS = 10

# The HTTP client under SendGrid's logs request bodies and headers (the API key) at DEBUG:
# never, whatever LOG_LEVEL says.
logging.getLogger("python_http_client").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # The outbox id: the same on every attempt at this message, so a send repeated after a crash
    # carries the Message-ID (SMTP) or custom argument (SendGrid) of the first.
    message_key: str | None = None


def queue_email(uow: UnitOfWork, email: Email) -> uuid.UUID:
    """Store the message in this transaction; a job delivers it once the transaction commits."""
    row = OutboxMessage(channel="email", recipient=email.to, subject=email.subject, body_text=email.text,
                        body_html=email.html, attachments=[a.as_json() for a in email.attachments],
                        status="queued")
    uow.session.add(row)
    uow.session.flush()
    uow.defer(DELIVER_TASK, str(row.id))
    return row.id


class SendGridMailer:
    """SendGrid's v3 Mail Send through its Python client (`sendgrid.SendGridAPIClient`)."""

    name = "sendgrid"

    def __init__(self, api_key: str, *, client=None) -> None:
        from sendgrid import SendGridAPIClient

        self._client = client or SendGridAPIClient(api_key)
        if client is None:  # its HTTP client waits for ever by default; a send must end within its lease
            self._client.client.timeout = TIMEOUT_SECONDS

    def send(self, email: Email) -> None:
        from sendgrid.helpers import mail as sg

        message = sg.Mail(from_email=sg.From(SENDER_ADDRESS, SENDER_NAME), to_emails=sg.To(email.to),
                          subject=email.subject, plain_text_content=email.text, html_content=email.html)
        if email.message_key:
            message.custom_arg = sg.CustomArg("outbox_id", email.message_key)
        for item in email.attachments:
            message.add_attachment(sg.Attachment(
                sg.FileContent(base64.b64encode(item.content.encode("utf-8")).decode("ascii")),
                sg.FileName(item.filename), sg.FileType(item.content_type), sg.Disposition("attachment")))
        response = self._client.send(message)
        if response.status_code >= 300:  # the client raises on 4xx/5xx; anything else odd is a failure too
            raise RuntimeError(f"SendGrid answered {response.status_code}")


class SmtpMailer:
    """Plain SMTP (MailHog in docker-compose); `smtp://user:pass@host:port`, `smtps://` for TLS."""

    name = "smtp"

    def __init__(self, url: str) -> None:
        self._url = urlsplit(url)

    def send(self, email: Email) -> None:
        message = build_mime(email)
        parts = self._url
        host, secure = parts.hostname or "localhost", parts.scheme == "smtps"
        smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
        with smtp_class(host, parts.port or (465 if secure else 25), timeout=TIMEOUT_SECONDS) as smtp:
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)


def build_mime(email: Email) -> EmailMessage:
    """text/plain + text/html alternatives, calendar invites attached with their iTIP method."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, email.to, email.subject
    if email.message_key:  # mail clients keep one copy of a Message-ID they already have
        message["Message-ID"] = f"<{email.message_key}@{SENDER_ADDRESS.partition('@')[2]}>"
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        rest = item.content_type.partition("/")[2]  # text/…: an .ics
        subtype, *params = [p.strip() for p in rest.split(";")]
        extra = dict(p.split("=", 1) for p in params if "=" in p and not p.lower().startswith("charset"))
        message.add_attachment(item.content, subtype=subtype, filename=item.filename, params=extra)
    return message
