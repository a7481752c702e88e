"""The consultation room's periodic job (SPEC §16): settle what happened after each window."""

from dataclasses import asdict

from core.video.settlement import settle_due


def settle_visits_job() -> dict:
    return asdict(settle_due())
