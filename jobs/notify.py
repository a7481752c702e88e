"""Notification jobs."""

import uuid

from core import config
from core.notify.email import deliver


def deliver_email(outbox_id: str) -> str:
    settings = config.current()
    return deliver(uuid.UUID(outbox_id), sendgrid_key=settings.sendgrid_api_key, smtp_url=settings.smtp_url)
