"""The credits ledger (SPEC §5, §8): append-only entries in cents, the balance derived by the
database under a per-user lock and never negative (a spend beyond it fails with 23514)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.errors import PaymentFailed
from core.i18n import N_
from core.models import CreditEntry

KINDS = ("grant", "spend", "refund_credit", "late_credit", "adjustment")


def balance(session: Session, user_id: uuid.UUID) -> int:
    """The user's balance in cents: the sum of their entries (what the trigger checks too)."""
    return session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount_cents), 0)).where(CreditEntry.user_id == user_id))


def add_entry(session: Session, user_id: uuid.UUID, kind: str, amount_cents: int, *,
              appointment_id: uuid.UUID | None = None, payment_id: uuid.UUID | None = None,
              note: str | None = None) -> int:
    """Append one entry (spends are negative) inside the caller's transaction; returns the new
    balance. Spending more than the balance raises PaymentFailed and leaves nothing written."""
    if kind not in KINDS:
        raise ValueError(f"unknown credit entry kind {kind!r}")
    try:
        with session.begin_nested():
            return session.execute(text("""
                INSERT INTO credit_entries (user_id, kind, amount_cents, appointment_id, payment_id, note)
                VALUES (:user, :kind, :amount, :appointment, :payment, :note) RETURNING balance_after_cents"""),
                {"user": user_id, "kind": kind, "amount": amount_cents, "appointment": appointment_id,
                 "payment": payment_id, "note": note}).scalar_one()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "23514" and amount_cents < 0:
            raise PaymentFailed(N_("Not enough credit for this consultation.")) from None
        raise
