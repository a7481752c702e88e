"""The outbox (`outbox_messages`): every email and SMS we send or would send, written in a
transaction and delivered by a job after the commit; the developers' page in dev, and tests.

A message about an event carries an idempotency key (`dedupe_key`, unique): `queue_once` inserts
it with ON CONFLICT DO NOTHING, so a job that runs twice, or two workers racing on one event, queue
it once, and only the transaction that inserted it schedules its delivery.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from core import clock
from core.actor import SYSTEM
from core.db import UnitOfWork, unit_of_work
from core.models import OutboxMessage

DELIVER_TASK = "jobs.notify.deliver_message"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: str  # text (an .ics); kept as is in the outbox, base64-encoded for SendGrid

    def as_json(self) -> dict:
        return {"filename": self.filename, "contentType": self.content_type, "content": self.content}

    @classmethod
    def from_json(cls, data: dict) -> Attachment:
        return cls(data["filename"], data["contentType"], data["content"])


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: an email (subject, text, optional HTML and attachments) or an SMS (text)."""

    channel: str  # email | sms
    recipient: str  # an address, or an E.164 number
    text: str
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


def queue_once(uow: UnitOfWork, message: Outgoing, dedupe_key: str, *, now: datetime | None = None) -> uuid.UUID | None:
    """Queue `message` unless a message with this key exists (or is being written by a concurrent
    transaction, which the unique index waits for). Returns the new row's id, or None if it was
    already there. Delivery is deferred until the caller's transaction commits. Needs the system
    role (RLS: the outbox is staff-only)."""
    row_id = uow.session.scalar(
        insert(OutboxMessage).values(
            channel=message.channel, recipient=message.recipient, subject=message.subject,
            body_text=message.text, body_html=message.html,
            attachments=[a.as_json() for a in message.attachments], status="queued",
            dedupe_key=dedupe_key, created_at=now or clock.now(),
        ).on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key]).returning(OutboxMessage.id))
    if row_id is not None:
        uow.defer(DELIVER_TASK, str(row_id))
    return row_id


def recent_messages(limit: int = 50) -> list[OutboxMessage]:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at.desc())
                                        .limit(limit)))
