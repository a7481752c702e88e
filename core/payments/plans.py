"""What Doktu sells, in integer cents (SPEC §8): one visit at €35, or a monthly plan granting
consultation credits. One place for the figures, so /pricing, checkout and the credit grants agree.

The allowances are the product decision recorded in the README ("Public site decisions"):
a credit pays for one 30-minute consultation; plan credits are granted at the start of each
billing month and lapse at its end (no roll-over).
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENCY = "EUR"
CONSULTATION_MINUTES = 30
PAY_PER_VISIT_CENTS = 3500
# A doctor who cancels less than 60 minutes before the start adds this to the full refund (SPEC §5).
LATE_DOCTOR_CANCELLATION_CREDIT_CENTS = 1000


@dataclass(frozen=True)
class Plan:
    code: str  # subscriptions.plan
    name: str
    price_cents: int  # per billing month
    credits_per_month: int  # subscriptions.credits_per_period
    priority_support: bool = False

    @property
    def cents_per_consultation(self) -> int:
        """What one consultation costs when every credit of the month is used, to the nearest cent."""
        return (self.price_cents * 2 + self.credits_per_month) // (self.credits_per_month * 2)


BASIC = Plan("basic", "Basic", 2900, credits_per_month=1)
PREMIUM = Plan("premium", "Premium", 5900, credits_per_month=3, priority_support=True)
PLANS: tuple[Plan, ...] = (BASIC, PREMIUM)


def plan_by_code(code: str) -> Plan:
    for plan in PLANS:
        if plan.code == code:
            return plan
    raise KeyError(code)
