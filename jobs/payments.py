"""Payment jobs (SPEC §8)."""

from core.payments.reconcile import reconcile_pending_payments
from core.payments.subscriptions import lapse_ended_plan_credits


def reconcile_payments_job() -> dict:
    """Every 10 minutes: pending Stripe payments compared with Stripe."""
    return reconcile_pending_payments()


def lapse_plan_credits_job() -> int:
    """Every 15 minutes: unused credit of plan months that ended without a renewal lapses."""
    return lapse_ended_plan_credits()
