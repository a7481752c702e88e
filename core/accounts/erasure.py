"""Deleting a patient's account: the right to erasure (GDPR art. 17; SPEC §0, §9 "Settings").

The rule, in order:
1. The patient confirms with their password and by typing DELETE.
2. Refused while a paid consultation starts within 60 minutes or is under way: SPEC §5 lets no
   patient cancel it then, and it cannot be left booked by an account that no longer exists.
3. Every future active appointment is cancelled through `core.booking.changes.cancel` as the
   patient — the ordinary policy, refunds to the card (what was paid with credit comes back as
   credit, which the erased account forfeits) — and a live plan is cancelled at the end of its
   paid month, so nothing renews.
4. One transaction erases the person: a placeholder email `deleted-<uuid>@deleted.doktu.eu`, an
   empty name, a password no hash can match, `is_active` false, `session_version` bumped (every
   session and token ends), no zone or reminders; the health profile and phone cleared; free
   texts the patient wrote on kept rows (rating comments, their own cancellation reasons)
   removed; their reset links deleted; the delivery log's copies of emails to them blanked; and
   one `audit_events` row that holds ids and figures, nothing personal.

Appointments, payments, credit entries and the change history stay (accounting and medical-record
retention, art. 17(3)(b)/(c)), attached to an account that no longer says who it was.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from core import clock
from core.accounts.passwords import verify_password
from core.accounts.settings import ERASED_DOMAIN
from core.actor import Actor
from core.audit import record_audit
from core.booking import changes, lifecycle, policy
from core.booking.dashboard import cancel_preview
from core.booking.queries import AppointmentView, list_appointments
from core.db import acting_as_system, unit_of_work
from core.errors import Forbidden, InvalidTransition, NotFound, TimeWindow, ValidationFailed
from core.i18n import LANGUAGES, N_, translate
from core.models import Appointment, OutboxMessage, PasswordResetToken, Patient, Rating, User
from core.payments import credits
from core.payments.subscriptions import cancel_subscription, current_plan
from core.privacy.forget import forget_privacy_artefacts

# The word a patient types, in the language of the page they read ("SUPPRIMER", "LÖSCHEN"): the
# form cannot tell which page was read, so the word of any of our languages is accepted.
CONFIRM_WORD = N_("DELETE")
CONFIRM_WORDS = frozenset(translate(language, CONFIRM_WORD) for language in LANGUAGES)
CANCEL_REASON = "The patient closed their Doktu account."
# Never a bcrypt hash: `verify_password` answers False for it, so no password signs in again.
UNUSABLE_PASSWORD = "!erased"  # noqa: S105 - a marker, not a secret
ERASED_TEXT = "[erased]"
BLOCKING_MESSAGE = ("You have a paid consultation starting within 60 minutes. It can no longer be cancelled, so your "
                    "account can be deleted once it is over.")


@dataclass(frozen=True)
class ErasurePreview:
    """What deleting the account now would do, for the confirmation page."""

    blocking: list[AppointmentView]  # paid, starting within 60 minutes or under way: deletion waits
    to_cancel: list[tuple[AppointmentView, policy.RefundOutcome]]
    credit_cents: int  # the credit balance, lost with the account
    plan_renews: bool  # a live plan that would renew: cancelled at the end of its month

    @property
    def allowed(self) -> bool:
        return not self.blocking

    @property
    def refund_cents(self) -> int:
        return sum(refund.refund_cents for _, refund in self.to_cancel)


@dataclass(frozen=True)
class ErasureResult:
    user_id: uuid.UUID
    cancelled: int
    refunded_cents: int


# --- the rule over plain values ---------------------------------------------------------------

def blocks_erasure(*, status: str, start: datetime, end: datetime, now: datetime) -> bool:
    """A paid consultation starting in less than 60 minutes, or under way: the patient can no
    longer cancel it (SPEC §5), so the account cannot go yet."""
    return lifecycle.is_booked(status) and policy.is_late(now, start) and end > now


def to_cancel(*, status: str, end: datetime, now: datetime) -> bool:
    """Still occupying a doctor's time in the future: cancelled (and refunded) before erasure."""
    return status in lifecycle.ACTIVE and end > now


# --- services ---------------------------------------------------------------------------------

def erasure_preview(actor: Actor) -> ErasurePreview:
    """What `erase_account` would do now (GDPR art. 17; SPEC §5 refunds), stated before the patient
    confirms: what blocks it, what is cancelled with which refund, the credit and plan that end."""
    _require_patient(actor)
    now = clock.now()
    blocking, cancelling = [], []
    for a in list_appointments(actor, limit=1000):
        if blocks_erasure(status=a.status, start=a.start_at, end=a.end_at, now=now):
            blocking.append(a)
        elif to_cancel(status=a.status, end=a.end_at, now=now):
            cancelling.append((a, cancel_preview(a, now, "card")))
    with unit_of_work(actor) as uow:
        balance = credits.balance(uow.session, actor.user_id)
    plan = current_plan(actor)
    return ErasurePreview(blocking, cancelling, balance,
                          plan is not None and plan.is_live and not plan.cancel_at_period_end)


def erase_account(actor: Actor, *, password: str, confirmation: str) -> ErasureResult:
    """Delete the patient's account (GDPR art. 17) as the module docstring says. The cancellations
    are committed one by one by the booking service (each with its refund, history and audit row);
    the erasure itself is a single transaction. Raises ERR_VALIDATION (password, confirmation) or
    ERR_TIME_WINDOW (a paid consultation within 60 minutes) before anything changes."""
    _require_patient(actor)
    if (confirmation or "").strip() not in CONFIRM_WORDS:
        raise ValidationFailed(N_("Type the word shown, in capital letters, to confirm."),
                               details={"fields": [{"field": "confirm", "message": "mismatch"}]})
    _check_password(actor, password)
    preview = erasure_preview(actor)
    if not preview.allowed:
        raise TimeWindow(BLOCKING_MESSAGE, details={"minutesBefore": 60})

    refunded = cancelled = 0
    for appointment, _ in preview.to_cancel:
        try:
            done = changes.cancel(actor, appointment.id, CANCEL_REASON, refund_as="card")
        except InvalidTransition:
            continue  # cancelled meanwhile (the hold expired, the doctor cancelled): nothing to do
        cancelled += 1
        refunded += done.refund.refund_cents
    if preview.plan_renews:
        with contextlib.suppress(NotFound):  # ended meanwhile
            cancel_subscription(actor)

    with unit_of_work(actor) as uow:
        s = uow.session
        now = clock.now()
        user = s.scalar(select(User).where(User.id == actor.user_id).with_for_update())
        if user is None or not user.is_active:
            raise Forbidden(N_("This account is not active."))
        patient_id = s.scalar(select(Patient.id).where(Patient.user_id == actor.user_id))
        booked_meanwhile = s.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.patient_id == patient_id, Appointment.status.in_(lifecycle.ACTIVE), Appointment.end_at > now))
        if booked_meanwhile:
            raise InvalidTransition(N_("A booking was made while your account was being deleted. Please try again."))
        old_email = user.email
        placeholder = f"deleted-{uuid.uuid4()}@{ERASED_DOMAIN}"
        # As the system: only staff may switch an account off (users_guard_privileges), and reset
        # links, the outbox and the audit trail are not the patient's to write.
        with acting_as_system(uow):
            s.execute(update(User).where(User.id == actor.user_id).values(
                email=placeholder, full_name="", password_hash=UNUSABLE_PASSWORD, is_active=False,
                session_version=User.session_version + 1, timezone=None, email_reminders=False,
                sms_reminders=False, last_login_at=None))
            s.execute(update(Patient).where(Patient.id == patient_id).values(
                date_of_birth=None, gender=None, primary_conditions=[], allergies=[], phone=None, onboarded_at=None))
            s.execute(update(Rating).where(Rating.patient_id == patient_id, Rating.comment.is_not(None))
                      .values(comment=None))
            s.execute(update(Appointment).where(Appointment.patient_id == patient_id,
                                                Appointment.cancelled_by == "patient",
                                                Appointment.cancel_reason.is_not(None))
                      .values(cancel_reason=None))
            s.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == actor.user_id))
            forget_privacy_artefacts(s, actor.user_id)  # SPEC §21: exports and email links go too
            # Messages still on their way are left to be delivered; the delivered copies are blanked.
            s.execute(update(OutboxMessage).where(func.lower(OutboxMessage.recipient) == old_email,
                                                  OutboxMessage.status.not_in(("queued", "sending")))
                      .values(recipient=placeholder, subject=ERASED_TEXT, body_text=ERASED_TEXT, body_html=None,
                              attachments=[]))
            record_audit(s, actor, action="account.erased", subject_type="user", subject_id=str(actor.user_id),
                         at=now, details={"cancelledAppointments": cancelled, "refundedCents": refunded,
                                          "creditForfeitedCents": preview.credit_cents,
                                          "planCancelled": preview.plan_renews})
    return ErasureResult(actor.user_id, cancelled, refunded)


# --- the steps --------------------------------------------------------------------------------

def _require_patient(actor: Actor) -> None:
    if actor.role != "patient" or actor.user_id is None:
        raise Forbidden(N_("Only a patient can delete their account here."))


def _check_password(actor: Actor, password: str) -> None:
    if not password:
        raise ValidationFailed(N_("Enter your password."),
                               details={"fields": [{"field": "password", "message": "required"}]})
    with unit_of_work(actor) as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.id == actor.user_id, User.is_active))
    if stored is None:
        raise Forbidden(N_("This account is not active."))
    if not verify_password(password, stored):
        raise ValidationFailed(N_("Your password is not right."),
                               details={"fields": [{"field": "password", "message": "wrong"}]})
