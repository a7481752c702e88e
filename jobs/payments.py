"""Payment jobs (SPEC §8)."""

from core.payments.reconcile import reconcile_pending_payments


def reconcile_payments_job() -> dict:
    """Every 10 minutes: pending Stripe payments compared with Stripe."""
    return reconcile_pending_payments()
