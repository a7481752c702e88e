"""See a doctor now's periodic job (SPEC §17): email each patient who has waited WALKIN_MAX_WAIT."""

from core.walkin.queue import offer_refunds_after_max_wait


def walkin_long_waits_job() -> int:
    return offer_refunds_after_max_wait()
