"""Privacy jobs (SPEC §21): build a data export, sweep for lost ones, the nightly retention run."""

import uuid

from core.privacy import export, retention


def build_export_job(export_id: str) -> bool:
    return export.build_export(uuid.UUID(export_id))


def build_queued_exports_job() -> int:
    return export.build_queued_exports()


def retention_job() -> dict:
    return retention.run_retention()
