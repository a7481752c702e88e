"""The local stand-in for Stripe Checkout (no `STRIPE_SECRET_KEY`): Stripe's test cards behave as
in Stripe's test mode, and the outcome is delivered as a signed Stripe-shaped event to the same
webhook handler that Stripe's deliveries go through."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum

from core.payments.webhooks import handle, signed_event

SUCCEEDS = "4242424242424242"
DECLINES = "4000000000000002"
NEEDS_AUTHENTICATION = "4000002500003155"


class CardOutcome(Enum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    INVALID = "invalid"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_outcome(number: str) -> CardOutcome:
    """What Stripe's test mode does with this card number (spaces allowed)."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
        return CardOutcome.INVALID
    return {SUCCEEDS: CardOutcome.SUCCEEDED, DECLINES: CardOutcome.DECLINED,
            NEEDS_AUTHENTICATION: CardOutcome.REQUIRES_ACTION}.get(digits, CardOutcome.INVALID)


def card_details_ok(number: str, expiry: str, cvc: str, today: date) -> bool:
    """A test card number Stripe knows, an expiry "MM/YY" not in the past, a numeric CVC."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2})\s*", expiry or "")
    if card_outcome(number) is CardOutcome.INVALID or not match or not 1 <= int(match.group(1)) <= 12:
        return False
    if (2000 + int(match.group(2)), int(match.group(1))) < (today.year, today.month):
        return False
    return (cvc or "").isdigit()


def try_card(number: str, expiry: str, cvc: str, *, today: date, session_id: str, metadata: dict[str, str],
             succeed: Callable[[], object]) -> CardOutcome:
    """One attempt on the local checkout page, for a visit or a plan alike: a decline is delivered
    as Stripe's signed failure event, a success by `succeed` (the session's own completed event)."""
    if not card_details_ok(number, expiry, cvc, today):
        return CardOutcome.INVALID
    outcome = card_outcome(number)
    if outcome is CardOutcome.DECLINED:
        deliver_failure(session_id, metadata, decline_code="generic_decline")
    elif outcome is CardOutcome.SUCCEEDED:
        succeed()
    return outcome


def authenticate(completed: bool, *, session_id: str, metadata: dict[str, str],
                 succeed: Callable[[], object]) -> bool:
    """The extra confirmation step of card 4000 0025 0000 3155 (3-D Secure in Stripe's test mode)."""
    if completed:
        succeed()
    else:
        deliver_failure(session_id, metadata, decline_code="authentication_required")
    return completed


@dataclass(frozen=True)
class Attempt:
    outcome: str  # what the webhook handler did
    paid: bool


def deliver_success(session_id: str, amount_cents: int, metadata: dict[str, str]) -> Attempt:
    intent = "pi_local_" + secrets.token_hex(12)
    payload, header = signed_event("checkout.session.completed", {
        "id": session_id, "object": "checkout.session", "mode": "payment", "status": "complete",
        "payment_status": "paid", "payment_intent": intent, "amount_total": amount_cents,
        "currency": "eur", "metadata": metadata})
    outcome = handle(payload, header)
    return Attempt(outcome, True)


def deliver_failure(session_id: str, metadata: dict[str, str], *, decline_code: str) -> Attempt:
    payload, header = signed_event("payment_intent.payment_failed", {
        "id": "pi_local_" + secrets.token_hex(12), "object": "payment_intent", "status": "requires_payment_method",
        "metadata": metadata, "last_payment_error": {"code": "card_declined", "decline_code": decline_code,
                                                     "message": "Your card was declined."}})
    return Attempt(handle(payload, header), False)
