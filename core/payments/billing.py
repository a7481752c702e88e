"""A patient's billing overview (SPEC §9 Billing tab): payments with their refunds, the credit
balance and its ledger, and the plan. RLS shows each patient only their own rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.actor import Actor
from core.db import unit_of_work
from core.i18n import N_
from core.models import Appointment, CreditEntry, Doctor, Payment
from core.payments import credits
from core.payments.subscriptions import current_plan

# Labels are catalog keys: the web translates them (`_(label)`, `_(description, doctor=…)`).
CREDIT_KIND_LABELS = {
    "grant": N_("Plan credit"), "spend": N_("Consultation paid with credit"), "refund_credit": N_("Refund as credit"),
    "late_credit": N_("Apology credit (late doctor cancellation)"), "adjustment": N_("Adjustment"),
}
PAYMENT_KIND_LABELS = {"visit": N_("Consultation payment"), "subscription": N_("Plan payment")}
PLAN_STATUS_LABELS = {"incomplete": N_("not yet paid"), "active": N_("active"), "past_due": N_("payment overdue"),
                      "cancelled": N_("cancelled")}


@dataclass(frozen=True)
class PaymentLine:
    id: uuid.UUID
    created_at: datetime
    description: str
    provider: str
    status: str
    amount_cents: int
    refunded_cents: int
    currency: str
    appointment_start: datetime | None
    doctor: str | None = None


@dataclass(frozen=True)
class CreditLine:
    created_at: datetime
    label: str
    amount_cents: int
    balance_after_cents: int


@dataclass(frozen=True)
class Billing:
    payments: list[PaymentLine]
    credit_cents: int
    credit_lines: list[CreditLine]
    plan: str | None
    plan_status: str | None


def billing_overview(actor: Actor, *, limit: int = 50) -> Billing:
    with unit_of_work(actor) as uow:
        s = uow.session
        rows = s.execute(
            select(Payment, Appointment.start_at, Doctor.display_name)
            .outerjoin(Appointment, Appointment.id == Payment.appointment_id)
            .outerjoin(Doctor, Doctor.id == Appointment.doctor_id)
            .where(Payment.user_id == actor.user_id, Payment.status != "pending")
            .order_by(Payment.created_at.desc()).limit(limit)).all()
        payments = [PaymentLine(p.id, p.created_at,
                                N_("Consultation with %(doctor)s") if name else PAYMENT_KIND_LABELS.get(p.kind, p.kind),
                                p.provider, p.status, p.amount_cents, p.refunded_cents, p.currency, start, name)
                    for p, start, name in rows]
        entries = s.scalars(select(CreditEntry).where(CreditEntry.user_id == actor.user_id)
                            .order_by(CreditEntry.created_at.desc()).limit(limit)).all()
        lines = [CreditLine(e.created_at, CREDIT_KIND_LABELS.get(e.kind, e.kind), e.amount_cents,
                            e.balance_after_cents) for e in entries]
        balance = credits.balance(s, actor.user_id)
    plan = current_plan(actor)  # the live plan, not an abandoned checkout
    return Billing(payments, balance, lines, plan.plan.name if plan else None,
                   (N_("active until the end of the paid month") if plan.cancel_at_period_end
                    else PLAN_STATUS_LABELS.get(plan.status, plan.status))
                   if plan else None)
