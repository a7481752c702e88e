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
    VisitEvent,
)
from core.models.doctors import Doctor, DoctorInvitation, DoctorPhoto, ExternalBusy, rating_stats
from core.models.documents import ConsultationNote, Document, FollowUp, Receipt, ReceiptCounter
from core.models.effects import OwedEffect
from core.models.engagement import (
    FUNNEL_STEPS,
    AuditEvent,
    FunnelEvent,
    JobHeartbeat,
    KpiDay,
    KpiDayAccount,
    Message,
    OutboxMessage,
)
from core.models.payments import CreditEntry, Payment, StripeEvent, Subscription
from core.models.privacy import Consent, DataExport, EmailVerificationToken
from core.models.scheduling import Slot
from core.models.support import SUPPORT_STATUSES, SupportConversation, SupportHealthBody, SupportMessage
from core.models.waitlist import WaitlistEntry, WaitlistOffer
from core.models.walkin import WALKIN_OPEN, WalkinRequest

__all__ = [
    "ACTIVE_STATUSES",
    "APPOINTMENT_STATUSES",
    "FUNNEL_STEPS",
    "SUPPORT_STATUSES",
    "WALKIN_OPEN",
    "Appointment",
    "AppointmentChange",
    "AuditEvent",
    "Base",
    "Consent",
    "ConsultationNote",
    "CreditEntry",
    "DataExport",
    "Doctor",
    "DoctorInvitation",
    "DoctorPhoto",
    "Document",
    "EmailVerificationToken",
    "ExternalBusy",
    "FollowUp",
    "FunnelEvent",
    "JobHeartbeat",
    "KpiDay",
    "KpiDayAccount",
    "Message",
    "OutboxMessage",
    "OwedEffect",
    "PasswordResetToken",
    "Patient",
    "Payment",
    "Rating",
    "Receipt",
    "ReceiptCounter",
    "Slot",
    "StripeEvent",
    "Subscription",
    "SupportConversation",
    "SupportHealthBody",
    "SupportMessage",
    "User",
    "VideoTest",
    "VisitEvent",
    "WaitlistEntry",
    "WaitlistOffer",
    "WalkinRequest",
    "rating_stats",
]
