"""After the consultation (SPEC §18): the doctor's private notes, issued documents, follow-up
suggestions, receipts and credit notes with their yearly counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, timestamp_now, uuid_pk

DOCUMENT_KINDS = ("summary", "prescription", "sick_note")
RECEIPT_KINDS = ("receipt", "credit_note")


class ConsultationNote(Base):
    """The doctor's private note on a consultation: never shown to the patient or to staff."""

    __tablename__ = "consultation_notes"

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"),
                                                      unique=True)
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class Document(Base):
    """An issued summary, prescription or sick note: what the doctor wrote and a snapshot of who,
    for whom and when (`content`), rendered to PDF on each download. Append-only."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("kind IN ('summary', 'prescription', 'sick_note')", name="kind"),
        CheckConstraint("verification_code ~ '^[A-Z0-9]{12}$'", name="code_format"),
        Index("ix_documents_patient_issued", "patient_id", "issued_at"),
        Index("ix_documents_appointment_id", "appointment_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(16))
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id", ondelete="RESTRICT"))
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="RESTRICT"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    content: Mapped[dict] = mapped_column(JSONB)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    issued_at: Mapped[datetime]


class FollowUp(Base):
    """The doctor suggests booking again within N days (one suggestion per consultation)."""

    __tablename__ = "follow_ups"
    __table_args__ = (CheckConstraint("within_days BETWEEN 1 AND 60", name="within_days"),)

    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"),
                                                      primary_key=True)
    doctor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("doctors.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    within_days: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = timestamp_now()


class ReceiptCounter(Base):
    """The last number given per kind and calendar year (locked by the transaction that takes one)."""

    __tablename__ = "receipt_counters"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_seq: Mapped[int]


class Receipt(Base):
    """A receipt for a card payment, or a credit note for a refund (`refers_to_id`: its receipt).
    Append-only; `source_key` makes issuing idempotent."""

    __tablename__ = "receipts"
    __table_args__ = (
        CheckConstraint("kind IN ('receipt', 'credit_note')", name="kind"),
        CheckConstraint("(kind = 'credit_note') = (refers_to_id IS NOT NULL)", name="refers"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("seq > 0", name="seq_positive"),
        UniqueConstraint("kind", "year", "seq", name="uq_receipts_kind_year_seq"),
        Index("ix_receipts_user_issued", "user_id", "issued_at"),
        Index("ix_receipts_payment_id", "payment_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(SmallInteger)
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(32), unique=True)
    source_key: Mapped[str] = mapped_column(String(120), unique=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    refers_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("receipts.id", ondelete="RESTRICT"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    details: Mapped[dict] = mapped_column(JSONB)
    issued_at: Mapped[datetime]


