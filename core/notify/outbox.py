"""Reading the outbox: the developers' page in dev, and tests."""

from __future__ import annotations

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import OutboxMessage


def recent_messages(limit: int = 50) -> list[OutboxMessage]:
    with unit_of_work(SYSTEM) as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at.desc())
                                        .limit(limit)))
