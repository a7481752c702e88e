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


_EXPIRY_FORMS = (
    re.compile(r"(\d{1,2})\s*[/.\-\s]\s*(\d{2}|\d{4})"),  # 12/30, 12 / 2030, 1/30, 12-30, 12.30, 12 30
    re.compile(r"(\d{2})(\d{2}|\d{4})"),                   # 1230, 122030
    re.compile(r"(\d)(\d{2})"),                             # 130 (1/30)
)


def parse_expiry(text: str) -> tuple[int, int] | None:
    """(month, year) from the ways people type a card's expiry — "12/30", "12 / 2030", "1230",
    "12-30", "1/30" — or None when it is none of them or the month is not 1–12."""
    raw = (text or "").strip()
    for form in _EXPIRY_FORMS:
        match = form.fullmatch(raw)
        if match:
            month, year = int(match.group(1)), int(match.group(2))
            if not 1 <= month <= 12:
                return None
            return month, year + 2000 if year < 100 else year
    return None


def card_problems(number: str, expiry: str, cvc: str, today: date) -> dict[str, str]:
    """What is wrong with each field, as a code the page words (issue 24: say which field, not
    "something is incorrect"): `card_number` → `invalid` (not a card number) or `not_a_test_card`
    (a real-looking card: this stand-in takes only Stripe's test cards); `expiry` → `format` or
    `past`; `cvc` → `invalid` (not 3 or 4 digits)."""
    problems = {}
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
        problems["card_number"] = "invalid"
    elif card_outcome(number) is CardOutcome.INVALID:
        problems["card_number"] = "not_a_test_card"
    parsed = parse_expiry(expiry)
    if parsed is None:
        problems["expiry"] = "format"
    elif (parsed[1], parsed[0]) < (today.year, today.month):
        problems["expiry"] = "past"
    if not re.fullmatch(r"\d{3,4}", (cvc or "").strip()):
        problems["cvc"] = "invalid"
    return problems


def card_details_ok(number: str, expiry: str, cvc: str, today: date) -> bool:
    """A test card number Stripe knows, an expiry not in the past, a 3- or 4-digit CVC."""
    return not card_problems(number, expiry, cvc, today)


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
