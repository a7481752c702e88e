"""Owed side effects (issue 23): run one right after its commit, and sweep for those that are due."""

from core.owed import run_owed, sweep_owed


def run_owed_effect(effect_id: str) -> str:
    return run_owed(effect_id)


def sweep_owed_job() -> dict:
    """Every minute: owed refunds, notices and expiries whose dispatch was lost, and retries."""
    return sweep_owed()
