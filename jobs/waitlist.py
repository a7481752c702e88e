"""The waitlist's periodic job (SPEC §17): offers whose 15 minutes are over go to the next waiter."""

from core.booking.waitlist import sweep_waitlist


def sweep_waitlist_job() -> dict:
    return sweep_waitlist()
