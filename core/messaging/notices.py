"""New-message notices (issue 25 item 3): a doctor↔patient message is announced to its recipient
by email — no content, a link to the conversation — at most once per conversation per 15 minutes,
unless they switched message emails off (`users.email_message_notices`).

The notice is queued in the sending transaction (the outbox delivers it after the commit), so a
message rolled back announces nothing. The throttle looks at the last notice of this conversation
to this recipient in the outbox; two messages sent at the same moment race on the same dedupe key
(`message:<recipient>:<sender>:<15-minute window>`), and the unique index keeps one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from core import config
from core.db import UnitOfWork, acting_as_system
from core.models import OutboxMessage, User
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import language_of, render

THROTTLE = timedelta(minutes=15)


def notice_key(recipient_id: uuid.UUID, sender_id: uuid.UUID, now: datetime) -> str:
    return f"message:{recipient_id}:{sender_id}:{int(now.timestamp()) // int(THROTTLE.total_seconds())}"


def owe_message_notice(uow: UnitOfWork, sender_id: uuid.UUID, recipient_id: uuid.UUID, now: datetime) -> bool:
    """In the message's transaction: queue the recipient's email notice unless one for this
    conversation went out in the last 15 minutes or they do not want it. Returns whether queued."""
    s = uow.session
    with acting_as_system(uow):  # the outbox and the other party's account are not the sender's to read
        recipient = s.get(User, recipient_id)
        if recipient is None or not recipient.is_active or not recipient.email_message_notices:
            return False
        recent = s.scalar(select(exists().where(
            OutboxMessage.dedupe_key.like(f"message:{recipient_id}:{sender_id}:%"),
            OutboxMessage.created_at > now - THROTTLE)))
        if recent:
            return False
        base = config.current().public_base_url
        link = f"{base}/doctor/" if recipient.role == "doctor" else f"{base}/dashboard/messages?with={sender_id}"
        lang = language_of(recipient.locale)
        message = render("new_message", lang, person_name=recipient.full_name, link=link,
                         settings_url=f"{base}/dashboard/settings#notifications" if recipient.role == "patient"
                         else None)
        return queue_once(uow, Outgoing("email", recipient.email, message.text, message.subject, message.html),
                          notice_key(recipient_id, sender_id, now), now=now) is not None
