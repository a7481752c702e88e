"""The reschedule and cancellation policy (SPEC §5) as pure functions over plain values.

No database and no web framework: `core.booking.changes` loads what these need, asks them, and
writes the result. The dashboard asks the same functions (`*_refusal`) to enable its buttons and to
state the refund before the patient confirms.

The rules, with SPEC §5's numbers:
- Reschedule: only ≥ 60 min before the start (exactly 60 is allowed, 59 is ERR_TIME_WINDOW); at
  most 2 per appointment (the 3rd is ERR_MAX_RESCHEDULES); a patient makes at most
  `RESCHEDULE_MONTHLY_CAP` (default 5, 0 = no cap) per calendar month of their time zone, all
  appointments together (the 6th is ERR_MAX_RESCHEDULES). The new start needs the 60-min booking
  notice of SPEC §3 too.
- Cancel: a patient ≥ 60 min before the start — later, a booked consultation can no longer be
  cancelled by the patient (it can still be joined; SPEC's "patient < 60 min → no refund" is
  therefore what a missed consultation gets). A doctor any time, with a reason (ERR_VALIDATION
  without one). An admin any time. An unpaid (pending) appointment is just a held time: its
  patient may give it back at any time, and nothing is refunded because nothing was paid.
- Refunds (what was paid, in full): patient ≥ 60 min → to the card, or as credit if the patient
  chooses; doctor ≥ 60 min → full refund; doctor < 60 min → full refund + €10 credit; admin →
  full refund. What was paid with credit is always given back as credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.booking.lifecycle import is_booked
from core.errors import DomainError, Forbidden, MaxReschedules, TimeWindow, ValidationFailed
from core.i18n import N_
from core.payments.plans import LATE_DOCTOR_CANCELLATION_CREDIT_CENTS

CHANGE_WINDOW = timedelta(minutes=60)  # reschedule (all) and cancel (patient) only this long before the start
NEW_START_NOTICE = timedelta(minutes=60)  # SPEC §3: nothing is booked sooner than this from now
MAX_RESCHEDULES = 2
DEFAULT_MONTHLY_CAP = 5
REFUND_CHOICES = ("card", "credit")
ROLES = ("patient", "doctor", "admin")


@dataclass(frozen=True)
class RefundOutcome:
    """What a cancellation gives back, in cents."""

    refund_as: str  # "card" | "credit" | "none": where the price goes back
    refund_cents: int = 0  # back to the card, through the payment gateway
    credit_cents: int = 0  # back as credit (ledger entry `refund_credit`)
    late_credit_cents: int = 0  # the doctor's late-cancellation credit (ledger entry `late_credit`)

    @property
    def total_credit_cents(self) -> int:
        return self.credit_cents + self.late_credit_cents


NO_REFUND = RefundOutcome("none")


def is_late(now: datetime, start: datetime) -> bool:
    """Less than 60 minutes before the start (or after it). Exactly 60 minutes is not late."""
    return start - now < CHANGE_WINDOW


def check_reschedule(*, actor_role: str, now: datetime, start: datetime, reschedule_count: int,
                     month_count: int = 0, monthly_cap: int = 0) -> None:
    """May this appointment be moved now? `month_count` is how many reschedules the patient has
    already made this calendar month; the cap binds patients only (a doctor or an admin moving an
    appointment does not spend the patient's allowance)."""
    _known_role(actor_role)
    if is_late(now, start):
        raise TimeWindow(N_("Appointments can be rescheduled up to 60 minutes before they start."),
                         details={"minutesBefore": 60})
    if reschedule_count >= MAX_RESCHEDULES:
        raise MaxReschedules(N_("An appointment can be rescheduled at most %(count)d times."),
                             params={"count": MAX_RESCHEDULES},
                             details={"limit": "appointment", "max": MAX_RESCHEDULES})
    if actor_role == "patient" and monthly_cap > 0 and month_count >= monthly_cap:
        raise MaxReschedules(N_("You can reschedule at most %(count)d times per month."), params={"count": monthly_cap},
                             details={"limit": "month", "max": monthly_cap})


def check_new_start(*, now: datetime, start: datetime, new_start: datetime) -> None:
    """The new time: a different one, and at least the booking notice from now."""
    if new_start.tzinfo is None or new_start.utcoffset() is None:
        raise ValidationFailed(N_("The new start needs a time zone offset."))
    if new_start == start:
        raise ValidationFailed(N_("The appointment is already at this time."))
    if new_start - now < NEW_START_NOTICE:
        raise TimeWindow(N_("The new time must be at least 60 minutes from now."), details={"minutesBefore": 60})


def check_cancel(*, actor_role: str, now: datetime, start: datetime, status: str, reason: str | None) -> None:
    """May this actor cancel now? (The lifecycle says separately whether the status allows it.)"""
    _known_role(actor_role)
    if actor_role == "patient" and is_booked(status) and is_late(now, start):
        raise TimeWindow(N_("Consultations can be cancelled up to 60 minutes before they start."),
                         details={"minutesBefore": 60})
    if actor_role == "doctor" and not (reason or "").strip():
        raise ValidationFailed(N_("Please give the patient a reason for the cancellation."),
                               details={"fields": [{"field": "reason", "message": "required when a doctor cancels"}]})


def refund_for_cancellation(*, actor_role: str, now: datetime, start: datetime, status: str,
                            card_cents: int, credit_cents: int, refund_as: str = "card") -> RefundOutcome:
    """What a cancellation gives back. `card_cents` / `credit_cents`: what is still held of what
    was paid by card / with credit. `refund_as` is the patient's choice (ignored for others, whose
    refund goes back where the money came from)."""
    _known_role(actor_role)
    if refund_as not in REFUND_CHOICES:
        raise ValidationFailed(N_("refundAs must be 'card' or 'credit'."))
    if not is_booked(status):
        return NO_REFUND  # nothing was paid for an unpaid hold
    late = is_late(now, start)
    if actor_role == "patient" and late:
        return NO_REFUND
    if actor_role == "patient" and refund_as == "credit":
        card_cents, credit_cents = 0, card_cents + credit_cents
    late_credit = LATE_DOCTOR_CANCELLATION_CREDIT_CENTS if actor_role == "doctor" and late else 0
    if card_cents == credit_cents == late_credit == 0:
        return NO_REFUND
    where = "card" if card_cents else "credit" if credit_cents else "none"
    return RefundOutcome(where, card_cents, credit_cents, late_credit)


def month_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month containing `now` in `tz`, as [start, end) instants."""
    local = now.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0, fold=0)
    following = (first.replace(year=first.year + 1, month=1) if first.month == 12
                 else first.replace(month=first.month + 1))
    return first, following


def reschedule_refusal(**kwargs) -> DomainError | None:
    """The error `check_reschedule` would raise, or None: for pages that enable buttons."""
    return _refusal(check_reschedule, kwargs)


def cancel_refusal(**kwargs) -> DomainError | None:
    """The error `check_cancel` would raise, or None."""
    return _refusal(check_cancel, kwargs)


def _refusal(check, kwargs: dict) -> DomainError | None:
    try:
        check(**kwargs)
    except DomainError as refused:
        return refused
    return None


def _known_role(role: str) -> None:
    if role not in ROLES:
        raise Forbidden(N_("Only the patient, their doctor or an admin can change an appointment."))
