"""The KPI roll-ups' job (SPEC §22): recompute the recent days, fill the missing ones."""

from __future__ import annotations

from core.metrics.rollups import refresh


def rollup_kpis_job() -> int:
    return refresh()
