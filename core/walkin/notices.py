"""Emails of "See a doctor now" (SPEC §17): the refund when a patient leaves the queue (or takes the
refund offered after `WALKIN_MAX_WAIT`), and the offer itself after that wait. Owed effects, each
queued once (outbox dedupe keys)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core import config
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Payment, User, WalkinRequest
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import format_money, render


def _recipient(session, user_id):
    return session.execute(select(User.email, User.full_name, User.locale, User.is_active)
                           .where(User.id == user_id)).one_or_none()


def notify_walkin_refunded(payment_id: str) -> int:
    """Task: "you left the queue, €35 is on its way back" (card) or back in credit."""
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.get(Payment, uuid.UUID(payment_id))
        user = _recipient(uow.session, payment.user_id) if payment else None
        if user is None or not user.is_active:
            return 0
        message = render("walkin_refunded", user.locale, patient_name=user.full_name,
                         amount=format_money(payment.amount_cents, payment.currency, user.locale),
                         credit=payment.provider == "credit",
                         book_url=f"{config.current().public_base_url}/doctors")
        queued = queue_once(uow, Outgoing("email", user.email, message.text, message.subject, message.html),
                            f"walkin-refunded:{payment.id}:email")
        return int(queued is not None)


def notify_walkin_long_wait(request_id: str) -> int:
    """Task: the patient has waited `WALKIN_MAX_WAIT`: keep waiting, or leave with a full refund."""
    settings = config.current()
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.get(WalkinRequest, uuid.UUID(request_id))
        if row is None or row.status != "waiting":
            return 0
        user = _recipient(uow.session, row.user_id)
        if user is None or not user.is_active:
            return 0
        message = render("walkin_long_wait", user.locale, patient_name=user.full_name,
                         minutes=settings.walkin_max_wait_minutes,
                         amount=format_money(row.price_cents, row.currency, user.locale),
                         waiting_url=f"{settings.public_base_url}/now/{row.id}")
        queued = queue_once(uow, Outgoing("email", user.email, message.text, message.subject, message.html),
                            f"walkin-long:{row.id}:email")
        return int(queued is not None)
