"""Metrics API for the founders and their analysts (SPEC §9, §12): overview, funnel, alerts and the
CSV export. Admin only; every rule lives in core.metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Blueprint, Response, current_app, request
from flask_login import current_user
from pydantic import Field
from spectree import Response as Responses

from core import heartbeats
from core.csv_export import as_file
from core.metrics import alerts, kpis
from core.metrics.periods import Period
from portals.api import ApiModel, ErrorEnvelope, api_spec, to_json
from portals.auth import require_role
from portals.i18n import current_language
from portals.state import state

admin_api = Blueprint("admin_api", __name__)
ERRORS = {"HTTP_401": ErrorEnvelope, "HTTP_403": ErrorEnvelope, "HTTP_422": ErrorEnvelope}
RangeName = Literal["today", "yesterday", "week", "month"]


class RangeQuery(ApiModel):
    range: RangeName = Field(default="week", description="Europe/Paris days: today, yesterday, the last 7 days "
                                                         "(week) or the last 30 days (month), today included.")


class ExportQuery(RangeQuery):
    table: Literal["kpis", "daily"] = Field(default="kpis", description="kpis: one row per KPI with both "
                                                                        "periods; daily: the figures per day.")


class RangeOut(ApiModel):
    name: str
    label: str
    timezone: str
    days: int
    from_: datetime = Field(alias="from")
    to: datetime
    previous_from: datetime
    previous_to: datetime

    @classmethod
    def of(cls, period: Period) -> RangeOut:
        previous = period.previous()
        return cls(name=period.name, label=period.label, timezone=period.tz.key, days=period.days,
                   from_=period.start, to=period.end, previous_from=previous.start, previous_to=previous.end)


class KpiOut(ApiModel):
    label: str
    unit: str = Field(description="count | ratio (0.125 = 12.5 %) | cents | decimal")
    value: float | None = Field(description="null when undefined (nothing to divide by)")
    previous: float | None
    change: float | None = Field(description="value − previous, in the KPI's unit (ratios: in fractions)")
    change_ratio: float | None = Field(description="relative change; null when previous is 0 or null")
    higher_is_better: bool
    definition: str


class KpisOut(ApiModel):
    booked: KpiOut
    completed: KpiOut
    no_show_rate: KpiOut
    arpa: KpiOut
    appointments_per_patient: KpiOut
    doctor_utilisation: KpiOut
    booking_conversion: KpiOut
    new_patients: KpiOut


class OverviewOut(ApiModel):
    range: RangeOut
    kpis: KpisOut
    generated_at: datetime


class FunnelStepOut(ApiModel):
    step: str
    label: str
    people: int
    from_previous_step: float | None
    from_first_step: float | None


class FunnelOut(ApiModel):
    range: RangeOut
    steps: list[FunnelStepOut]
    counting: str


class AlertLinkOut(ApiModel):
    label: str = Field(description="the doctor or consultation the alert names")
    href: str = Field(description="where to act on it in the console")


class AlertOut(ApiModel):
    severity: Literal["critical", "warning", "info"]
    code: str
    title: str
    detail: str
    action: str
    action_href: str | None
    links: list[AlertLinkOut] = Field(default_factory=list)


class JobRunOut(ApiModel):
    name: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None = Field(description="the exception's class when the last run failed")


class AlertsOut(ApiModel):
    alerts: list[AlertOut]
    generated_at: datetime
    jobs_last_ran_seconds_ago: int | None = Field(
        description="seconds since a periodic job last finished; null when none ever has")
    jobs_status: str = Field(description='e.g. "Background jobs last ran 40 s ago."')
    jobs: list[JobRunOut] = Field(description="each periodic job's last run")


def _number(value):
    return None if value is None else float(value)


@admin_api.get("/api/metrics/overview")
@require_role("admin")
@api_spec.validate(query=RangeQuery, resp=Responses(HTTP_200=OverviewOut, **ERRORS), tags=["metrics"])
def metrics_overview():
    """The eight KPIs of the admin console for a range, each with the previous period of the same
    length and the change; `definition` says exactly what each counts. Figures are at most 60 s
    old (`generatedAt`): they are computed once a minute per range for all admins."""
    query: RangeQuery = request.context.query
    result = kpis.overview(current_user.actor, query.range, cache=state().redis)
    by_key = {}
    for row in result.kpis.to_dict("records"):
        by_key[row["key"]] = KpiOut(label=row["label"], unit=row["unit"], value=_number(row["value"]),
                                    previous=_number(row["previous"]), change=_number(row["change"]),
                                    change_ratio=_number(row["change_ratio"]),
                                    higher_is_better=row["higher_is_better"], definition=row["definition"])
    return to_json(OverviewOut(range=RangeOut.of(result.period), kpis=KpisOut(**by_key),
                               generated_at=result.generated_at))


@admin_api.get("/api/metrics/funnel")
@require_role("admin")
@api_spec.validate(query=RangeQuery, resp=Responses(HTTP_200=FunnelOut, **ERRORS), tags=["metrics"])
def metrics_funnel():
    """The booking funnel of a range: availability viewed → slot held → signed up → checkout
    started → paid → device test passed → joined, in people per step."""
    query: RangeQuery = request.context.query
    result = kpis.funnel(current_user.actor, query.range, cache=state().redis)
    steps = [FunnelStepOut(**{**row, "people": int(row["people"])})
             for row in result.steps.to_dict("records")]
    return to_json(FunnelOut(range=RangeOut.of(result.period), steps=steps,
                             counting=" ".join(kpis.funnel.__doc__.split())))


@admin_api.get("/api/metrics/alerts")
@require_role("admin")
@api_spec.validate(resp=Responses(HTTP_200=AlertsOut, HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope),
                   tags=["metrics"])
def metrics_alerts():
    """The alert feed (Critical, Warning, Info), each with its call to action, and when the
    background jobs last ran (each periodic job's last start, finish and error)."""
    from core import clock

    actor = current_user.actor
    found = alerts.alert_feed(actor, failed_jobs=failed_job_count(), cache=state().redis)
    last_ran = heartbeats.seconds_since_last_run(actor)
    return to_json(AlertsOut(alerts=[AlertOut(**{**a.__dict__, "links": [
        AlertLinkOut(label=label, href=href) for label, href in a.links]}) for a in found], generated_at=clock.now(),
                             jobs_last_ran_seconds_ago=last_ran, jobs_status=alerts.jobs_status_text(last_ran),
                             jobs=[JobRunOut(**run.__dict__) for run in heartbeats.job_runs(actor)]))


@admin_api.get("/api/metrics/export.csv")
@require_role("admin")
@api_spec.validate(query=ExportQuery, resp=Responses("HTTP_200", **ERRORS), tags=["metrics"])
def metrics_export():
    """CSV for analysts (text/csv, UTF-8 with a byte order mark; `;`-separated with decimal commas
    when the admin's language is French or German, as their Excel expects): `table=kpis` (default)
    one row per KPI with the range, both periods' values, the change and the definition;
    `table=daily` the figures per Paris day.
    Money in cents, ratios as fractions, an empty cell where a value is undefined."""
    query: ExportQuery = request.context.query
    body = kpis.export_csv(current_user.actor, query.range, query.table, language=current_language())
    return csv_response(body, f"doktu-{query.table}-{query.range}.csv")


def csv_response(body: str, filename: str) -> Response:
    return Response(as_file(body), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def failed_job_count() -> int | None:
    """Jobs in RQ's failed registry (the alert "jobs failing"); None when Redis does not answer."""
    queue = current_app.extensions.get("doktu_queue")
    if queue is None:
        return None
    try:
        return queue.failed_job_registry.count
    except Exception:  # Redis down: the alert says "unknown" rather than the console failing
        return None
