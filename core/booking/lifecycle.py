"""Appointment states and the moves between them, in one place (SPEC §5, §8; issue 6).

    pending ──► paid / confirmed ──► completed | cancelled | no_show
       └──────► cancelled

`paid` and `confirmed` both mean "booked and paid for": the schema has both, payments confirm to
`confirmed`. A plain module over plain values (an appointment is anything with a `status`), so
services, jobs and the dashboard ask the same question and get the same answer.
"""

from __future__ import annotations

from typing import Protocol

from core.errors import InvalidTransition
from core.i18n import N_

PENDING, PAID, CONFIRMED = "pending", "paid", "confirmed"
COMPLETED, CANCELLED, NO_SHOW = "completed", "cancelled", "no_show"
STATUSES = (PENDING, PAID, CONFIRMED, COMPLETED, CANCELLED, NO_SHOW)

# Booked and paid for: what reschedule, refunds and the doctor's late-cancellation credit concern.
BOOKED = (PAID, CONFIRMED)
# Occupying the doctor's time (the double-booking trigger counts the same ones).
ACTIVE = (PENDING, PAID, CONFIRMED)
FINAL = (COMPLETED, CANCELLED, NO_SHOW)

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({PAID, CONFIRMED, CANCELLED}),
    PAID: frozenset({CONFIRMED, COMPLETED, CANCELLED, NO_SHOW}),
    CONFIRMED: frozenset({COMPLETED, CANCELLED, NO_SHOW}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
    NO_SHOW: frozenset(),
}

# Catalog labels: a refusal names them in the reader's language (`refusal_text`).
_WORDS = {PENDING: N_("unpaid"), PAID: N_("booked"), CONFIRMED: N_("booked"), COMPLETED: N_("completed"),
          CANCELLED: N_("cancelled"), NO_SHOW: N_("missed")}


class HasStatus(Protocol):
    status: str
    cancelled_by: str | None


def can_transition(from_status: str, to_status: str, *, cancelled_by: str | None = None) -> bool:
    """Is `from_status → to_status` allowed? One exception to "cancelled is final": a hold that
    expired unpaid (cancelled by the system, `cancelled_by` empty) is revived by its verified late
    payment if the time is still free (SPEC §8: money is never kept for nothing)."""
    if from_status == CANCELLED and to_status in BOOKED:
        return cancelled_by is None
    return to_status in TRANSITIONS.get(from_status, frozenset())


def check_transition(appointment: HasStatus, to_status: str) -> None:
    """Raise ERR_INVALID_STATE unless `appointment` may move to `to_status` (changes nothing)."""
    if to_status not in STATUSES:
        raise ValueError(f"unknown appointment status {to_status!r}")
    current = appointment.status
    if not can_transition(current, to_status, cancelled_by=getattr(appointment, "cancelled_by", None)):
        raise InvalidTransition(N_("A %(status)s appointment cannot be %(verb)s."),
                                params={"status": _WORDS.get(current, current), "verb": _verb(to_status)},
                                details={"status": current, "to": to_status})


def transition(appointment: HasStatus, to_status: str) -> None:
    """Move `appointment` to `to_status`, or raise ERR_INVALID_STATE for a forbidden move."""
    check_transition(appointment, to_status)
    appointment.status = to_status


# The one way out of a final state: staff correcting a no-show that did not happen (the
# consultation took place), SPEC §22 "mark or undo no-show". Not a move anyone else may make.
CORRECTIONS: dict[str, str] = {NO_SHOW: COMPLETED}


def correct(appointment: HasStatus, to_status: str) -> None:
    """Apply a staff correction (see CORRECTIONS), or raise ERR_INVALID_STATE."""
    if CORRECTIONS.get(appointment.status) != to_status:
        raise InvalidTransition(N_("A %(status)s appointment cannot be corrected to %(to)s."),
                                params={"status": _WORDS.get(appointment.status, appointment.status), "to": to_status},
                                details={"status": appointment.status, "to": to_status})
    appointment.status = to_status


def is_booked(status: str) -> bool:
    return status in BOOKED


def require_reschedulable(appointment: HasStatus) -> None:
    """Only a booked (paid) appointment moves. An unpaid one is not rescheduled: its patient picks
    another time before paying, which replaces the hold (create-pending)."""
    if appointment.status not in BOOKED:
        raise InvalidTransition(N_("A %(status)s appointment cannot be rescheduled."),
                                params={"status": _WORDS.get(appointment.status, appointment.status)},
                                details={"status": appointment.status, "to": "reschedule"})


def _verb(status: str) -> str:
    return {PAID: N_("paid"), CONFIRMED: N_("confirmed"), COMPLETED: N_("completed"), CANCELLED: N_("cancelled"),
            NO_SHOW: N_("marked as missed"), PENDING: N_("made pending again")}[status]
