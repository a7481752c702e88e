"""The rating rules of SPEC §18 as plain functions over plain values (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta

RATING_WINDOW = timedelta(days=30)
MAX_COMMENT = 1000
BAYES_WEIGHT = 10  # the same weight as the `doctor_rating_stats` view (migration 0009)


def rating_refusal(*, status: str, completed_at: datetime | None, now: datetime, already_rated: bool) -> str | None:
    """Why this consultation cannot be rated now, or None: completed, not yet rated, and within 30 days
    of its completion (exactly 30 days is still fine)."""
    if status != "completed" or completed_at is None:
        return "You can rate a consultation once it is completed."
    if already_rated:
        return "You have already rated this consultation."
    if now > completed_at + RATING_WINDOW:
        return "Ratings are open for 30 days after the consultation."
    return None


def clean_comment(comment: str | None) -> str | None:
    """Trimmed; empty means no comment. None when too long is the caller's error to raise."""
    text = (comment or "").strip()
    return text or None


def bayesian_average(stars: list[int], prior_mean: float, weight: int = BAYES_WEIGHT) -> float | None:
    """(weight × prior + sum) / (weight + n): a few 5★ do not outrank many 4.9★ (SPEC §18 sorting)."""
    if not stars:
        return None
    return (weight * prior_mean + sum(stars)) / (weight + len(stars))
