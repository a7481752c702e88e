"""Receipts and credit notes (SPEC §18).

Every card payment gets a receipt, every card refund a credit note that refers to it, issued in the
transaction that records the payment or the refund (`issue_receipt` from `confirm_paid`,
`issue_credit_note` from `record_refund`), so there is a receipt exactly when there is a payment.

Numbers are gap-free per kind and calendar year (Europe/Paris, the seller's): `receipt_counters`
holds one row per kind and year, incremented by INSERT … ON CONFLICT DO UPDATE … RETURNING in that
same transaction. The row lock serialises concurrent payments until they commit, and a transaction
that rolls back gives its number back with it — so 2026-000001, -000002, … never skip or repeat.
Idempotent: `source_key` (`receipt:<payment>`, `credit:<payment>:<refunded total>`) is unique, so a
replayed webhook issues nothing twice.

Billing data, not health data: RLS shows receipts to their patient and to staff (admins may answer
billing questions). The PDF is rendered from the stored row on each download.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from core import clock, i18n
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import UnitOfWork, apply_rls_context, unit_of_work
from core.documents import pdf
from core.documents.issuing import rpps
from core.errors import NotFound
from core.i18n import N_
from core.models import Appointment, Doctor, Payment, Receipt, User

SELLER = {"name": "Doktu SAS", "address": "10 rue de la Santé, 75013 Paris, France"}
SELLER_ZONE = ZoneInfo("Europe/Paris")
CARD_PROVIDERS = ("stripe", "local")
PREFIX = {"receipt": "R", "credit_note": "AV"}

_NEXT = text("""
    INSERT INTO receipt_counters (kind, year, last_seq) VALUES (:kind, :year, 1)
    ON CONFLICT (kind, year) DO UPDATE SET last_seq = receipt_counters.last_seq + 1
    RETURNING last_seq
""")

@dataclass(frozen=True)
class ReceiptItem:
    id: uuid.UUID
    kind: str
    number: str
    issued_at: datetime
    amount_cents: int
    currency: str
    description: str
    refers_to: str | None
    # What the web shows in the reader's language (the stored description is the PDF's English).
    doctor_name: str | None = None
    consultation_on: date | None = None

    @property
    def title(self) -> str:
        return pdf.TITLES[self.kind]

    @property
    def filename(self) -> str:
        return f"doktu-{self.kind.replace('_', '-')}-{self.number}.pdf"

@contextmanager
def _as_system(uow: UnitOfWork) -> Iterator[None]:
    """Like `acting_as_system`, but restores whatever context was set before — the refund may
    already run inside the caller's own `acting_as_system` block (a cancellation's refund)."""
    uow.session.flush()
    before = uow.session.execute(text("SELECT current_setting('app.user_id', true) AS u, "
                                      "current_setting('app.role', true) AS r")).one()
    apply_rls_context(uow.session, SYSTEM)
    yield
    uow.session.flush()
    uow.session.execute(text("SELECT set_config('app.user_id', :u, true), set_config('app.role', :r, true)"),
                        {"u": before.u or "", "r": before.r or ""})


def format_number(kind: str, year: int, seq: int) -> str:
    return f"{PREFIX[kind]}-{year}-{seq:06d}"

def next_number(uow: UnitOfWork, kind: str, year: int) -> int:
    """The next number of the year for this kind, held by this transaction until it ends."""
    return uow.session.execute(_NEXT, {"kind": kind, "year": year}).scalar_one()

def _add(uow: UnitOfWork, kind: str, key: str, payment: Payment, amount_cents: int, details: dict,
         refers_to: uuid.UUID | None, now: datetime) -> Receipt | None:
    existing = uow.session.scalar(select(Receipt).where(Receipt.source_key == key))
    if existing is not None:
        return existing
    year = now.astimezone(SELLER_ZONE).year
    seq = next_number(uow, kind, year)
    receipt = Receipt(kind=kind, year=year, seq=seq, number=format_number(kind, year, seq), source_key=key,
                      payment_id=payment.id, refers_to_id=refers_to, user_id=payment.user_id,
                      appointment_id=payment.appointment_id, amount_cents=amount_cents, currency=payment.currency,
                      details=details, issued_at=now)
    uow.session.add(receipt)
    uow.session.flush()
    return receipt

def _details(uow: UnitOfWork, payment: Payment) -> dict:
    s = uow.session
    patient_name = s.scalar(select(User.full_name).where(User.id == payment.user_id)) or ""
    details = {"seller": SELLER, "patient": {"name": patient_name}, "paymentId": str(payment.id),
               "description": pdf.PLAN_DESCRIPTION if payment.kind == "subscription" else pdf.PAYMENT}
    if payment.appointment_id is not None:
        row = s.execute(select(Appointment.start_at, Doctor.display_name, Doctor.number, Doctor.timezone)
                        .join(Doctor, Doctor.id == Appointment.doctor_id)
                        .where(Appointment.id == payment.appointment_id)).one_or_none()
        if row is not None:
            day = row.start_at.astimezone(ZoneInfo(row.timezone)).date()
            details.update(doctor={"name": row.display_name, "rpps": rpps(row.number)},
                           consultationOn=day.isoformat(),
                           description=f"Video consultation with {row.display_name} on {pdf.format_day(day)}")
    return details

def issue_receipt(uow: UnitOfWork, payment: Payment) -> Receipt | None:
    """In the payment's transaction: the receipt of a succeeded card payment (SPEC §18), once.
    Credit payments get none (no money changed hands)."""
    if payment.provider not in CARD_PROVIDERS or payment.amount_cents <= 0:
        return None
    now = clock.now()
    with _as_system(uow):
        return _add(uow, "receipt", f"receipt:{payment.id}", payment, payment.amount_cents, _details(uow, payment),
                    None, now)

def issue_credit_note(uow: UnitOfWork, payment: Payment, amount_cents: int) -> Receipt | None:
    """In the refund's transaction: a credit note for `amount_cents` referring to the payment's
    receipt (SPEC §18). Call it after `payment.refunded_cents` includes the refund."""
    if payment.provider not in CARD_PROVIDERS or amount_cents <= 0:
        return None
    now = clock.now()
    with _as_system(uow):
        receipt = uow.session.scalar(select(Receipt).where(Receipt.source_key == f"receipt:{payment.id}"))
        if receipt is None:  # a payment from before receipts existed: issue it now, then the note
            receipt = _add(uow, "receipt", f"receipt:{payment.id}", payment, payment.amount_cents,
                           _details(uow, payment), None, now)
        details = {**receipt.details, "refersTo": receipt.number,
                   "description": f"Refund of receipt {receipt.number}"}
        return _add(uow, "credit_note", f"credit:{payment.id}:{payment.refunded_cents}", payment, amount_cents,
                    details, receipt.id, now)

def _item(r: Receipt, refers: str | None) -> ReceiptItem:
    on = r.details.get("consultationOn")
    return ReceiptItem(r.id, r.kind, r.number, r.issued_at, r.amount_cents, r.currency,
                       r.details.get("description", ""), refers, (r.details.get("doctor") or {}).get("name"),
                       date.fromisoformat(on) if on else None)

def list_receipts(actor: Actor, *, limit: int = 100) -> list[ReceiptItem]:
    """The patient's receipts and credit notes, newest first (Billing)."""
    with unit_of_work(actor) as uow:
        rows = uow.session.scalars(select(Receipt).where(Receipt.user_id == actor.user_id)
                                   .order_by(Receipt.issued_at.desc(), Receipt.kind, Receipt.seq.desc())
                                   .limit(limit)).all()
        return [_item(r, r.details.get("refersTo")) for r in rows]

def download_receipt(actor: Actor, receipt_id: uuid.UUID) -> tuple[str, bytes]:
    """(filename, PDF) of a receipt or credit note the actor may read (theirs; staff), audited."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        r = uow.session.get(Receipt, receipt_id)
        if r is None:
            raise NotFound(N_("No such receipt."))
        record_audit(uow.session, actor, action="receipt.downloaded", subject_type="receipt", subject_id=str(r.id),
                     at=now, details={"number": r.number})
        item = _item(r, r.details.get("refersTo"))
        with _as_system(uow):  # the patient's language, whoever downloads (SPEC §20)
            locale = uow.session.scalar(select(User.locale).where(User.id == r.user_id))
        content = receipt_pdf(r, i18n.language_of(locale))
    return item.filename, content


def receipt_pdf(r: Receipt, language: str = pdf.SELLER_LANGUAGE) -> bytes:
    """The PDF of a receipt or credit note, rebuilt from its stored data (SPEC §18): French, with the
    patient's `language` beneath when it is another (SPEC §20)."""
    return pdf.render_receipt({"kind": r.kind, "number": r.number, "details": r.details, "amountCents": r.amount_cents,
                               "currency": r.currency,
                               "issuedOn": r.issued_at.astimezone(SELLER_ZONE).date().isoformat()}, language)

def receipt_for_appointment(actor: Actor, appointment_id: uuid.UUID) -> ReceiptItem | None:
    with unit_of_work(actor) as uow:
        r = uow.session.scalar(select(Receipt).where(Receipt.appointment_id == appointment_id,
                                                     Receipt.kind == "receipt"))
        return _item(r, None) if r else None

