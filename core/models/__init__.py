"""SQLAlchemy models, one module per subject. Importing this package registers them all."""

from core.models.accounts import PasswordResetToken, Patient, User
from core.models.base import Base
from core.models.booking import (
    ACTIVE_STATUSES,
    APPOINTMENT_STATUSES,
    Appointment,
    AppointmentChange,
    Rating,
    VideoTest,
)
from core.models.doctors import Doctor, ExternalBusy
from core.models.engagement import FUNNEL_STEPS, AuditEvent, FunnelEvent, Message, OutboxMessage
from core.models.payments import CreditEntry, Payment, StripeEvent, Subscription
from core.models.privacy import Consent, DataExport, EmailVerificationToken
from core.models.scheduling import Slot

__all__ = [
    "ACTIVE_STATUSES",
    "APPOINTMENT_STATUSES",
    "FUNNEL_STEPS",
    "Appointment",
    "AppointmentChange",
    "AuditEvent",
    "Base",
    "Consent",
    "CreditEntry",
    "DataExport",
    "Doctor",
    "EmailVerificationToken",
    "ExternalBusy",
    "FunnelEvent",
    "Message",
    "OutboxMessage",
    "PasswordResetToken",
    "Patient",
    "Payment",
    "Rating",
    "Slot",
    "StripeEvent",
    "Subscription",
    "User",
    "VideoTest",
]
