"""The Cal.com bridge (SPEC §3): ingest each doctor's external busy times, push their explicit
availability, every 5 minutes.

With CAL_API_KEY the client talks to api.cal.com (API v2) with timeouts and retries. Without it,
a deterministic fake answers at the HTTP layer (an httpx transport), so everything after the
HTTP call — parsing, storing, pushing — is the same code in dev, tests and production.
A failing Cal.com never breaks availability: the last ingested busy times stay in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Doctor, ExternalBusy, Slot

log = logging.getLogger(__name__)

BASE_URL = "https://api.cal.com"
# The dev fake's own address (issue 24): httpx logs every request ("HTTP Request: GET …"), and a
# line naming api.cal.com looked like a real third-party call. `.invalid` never resolves (RFC 2606).
FAKE_BASE_URL = "http://cal-dev-fake.invalid"
SCHEDULES_API_VERSION = "2024-06-11"
SYNC_DAYS = 14
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
RETRY_STATUSES = {429, 500, 502, 503, 504}


class CalUnavailable(RuntimeError):
    """Cal.com did not answer usefully; the caller keeps what it had."""


@dataclass(frozen=True)
class BusyEvent:
    external_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class CalLink:
    doctor_id: uuid.UUID
    timezone: str
    credential_id: int | None
    external_id: str
    schedule_id: int | None


class CalClient:
    """Cal.com API v2 over httpx: bearer API key, timeouts, retries with backoff."""

    def __init__(self, api_key: str, *, transport: httpx.BaseTransport | None = None,
                 base_url: str = BASE_URL, retries: int = 2, backoff: float = 0.5):
        self.http = httpx.Client(base_url=base_url, timeout=TIMEOUT,
                                 transport=transport or httpx.HTTPTransport(retries=1),
                                 headers={"Authorization": f"Bearer {api_key}"})
        self.retries = retries
        self.backoff = backoff

    def _send(self, method: str, path: str, **kwargs) -> dict:
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                if response.status_code < 300:
                    return response.json()
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    break
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise CalUnavailable(f"Cal.com {method} {path}: {problem}")

    def busy_times(self, link: CalLink, first_day: date, last_day: date) -> list[BusyEvent]:
        params = {
            "timeZone": link.timezone, "dateFrom": first_day.isoformat(), "dateTo": last_day.isoformat(),
            "calendarsToLoad[0][externalId]": link.external_id,
        }
        if link.credential_id is not None:
            params["calendarsToLoad[0][credentialId]"] = str(link.credential_id)
        body = self._send("GET", "/v2/calendars/busy-times", params=params)
        if body.get("status") != "success" or not isinstance(body.get("data"), list):
            raise CalUnavailable("Cal.com busy-times: unexpected answer")
        return [parse_busy(item) for item in body["data"]]

    def push_overrides(self, link: CalLink, overrides: list[dict]) -> None:
        if link.schedule_id is None:
            return
        self._send("PATCH", f"/v2/schedules/{link.schedule_id}", json={"overrides": overrides},
                   headers={"cal-api-version": SCHEDULES_API_VERSION})


def parse_busy(item: dict) -> BusyEvent:
    start = datetime.fromisoformat(item["start"].replace("Z", "+00:00")).astimezone(UTC)
    end = datetime.fromisoformat(item["end"].replace("Z", "+00:00")).astimezone(UTC)
    # Cal.com busy times carry no id: name them by their interval (and source) so a re-sync
    # updates instead of duplicating.
    key = f"{item.get('source') or 'cal'}|{start.isoformat()}|{end.isoformat()}"
    return BusyEvent(hashlib.sha256(key.encode()).hexdigest()[:32], start, end)


def fake_transport() -> httpx.MockTransport:
    """Dev stand-in for Cal.com: one deterministic busy hour per doctor per weekday (Monday to
    Friday, 16:00–17:00 for some doctors, 12:00–13:00 for others, chosen from the calendar id),
    and schedule updates accepted."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/calendars/busy-times":
            q = request.url.params
            tz = ZoneInfo(q["timeZone"])
            calendar = hashlib.sha256(q["calendarsToLoad[0][externalId]"].encode()).digest()
            hour = 12 if calendar[0] % 2 else 16
            day, last = date.fromisoformat(q["dateFrom"]), date.fromisoformat(q["dateTo"])
            data = []
            while day <= last:
                if day.weekday() < 5:
                    start = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
                    data.append({"start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                                 "end": (start + timedelta(hours=1)).astimezone(UTC).isoformat()
                                 .replace("+00:00", "Z"), "source": "fake-cal"})
                day += timedelta(days=1)
            return httpx.Response(200, json={"status": "success", "data": data})
        if request.method == "PATCH" and request.url.path.startswith("/v2/schedules/"):
            return httpx.Response(200, json={"status": "success", "data": json.loads(request.content)})
        return httpx.Response(404, json={"status": "error"})

    return httpx.MockTransport(handle)


def make_client(api_key: str | None) -> CalClient:
    if api_key:
        return CalClient(api_key)
    return CalClient("dev-fake", transport=fake_transport(), base_url=FAKE_BASE_URL)


def _links(api_key: str | None) -> list[CalLink]:
    """Doctors who switched the bridge on (SPEC §19, per doctor in Settings) and, with a key, are
    linked to a Cal.com calendar or schedule; in dev (no key) each of them on the fake."""
    with unit_of_work(SYSTEM) as uow:
        query = select(Doctor.id, Doctor.timezone, Doctor.cal_credential_id, Doctor.cal_external_id,
                       Doctor.cal_schedule_id).where(Doctor.cal_enabled)
        if api_key:
            query = query.where(or_(Doctor.cal_external_id.is_not(None), Doctor.cal_schedule_id.is_not(None)))
        rows = uow.session.execute(query).all()
    return [CalLink(r.id, r.timezone, r.cal_credential_id, r.cal_external_id or f"dev-{r.id}",
                    r.cal_schedule_id) for r in rows]


def ingest_busy(link: CalLink, events: list[BusyEvent], window_start: datetime, window_end: datetime) -> int:
    """Store the doctor's busy times for the window: upsert what came, drop what vanished."""
    events = [e for e in events if e.end > window_start and e.start < window_end and e.end > e.start]
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        keep = [e.external_id for e in events]
        s.execute(delete(ExternalBusy).where(
            ExternalBusy.doctor_id == link.doctor_id, ExternalBusy.start_at >= window_start,
            ExternalBusy.start_at < window_end, ExternalBusy.external_id.not_in(keep)))
        if events:
            stmt = insert(ExternalBusy).values([
                {"doctor_id": link.doctor_id, "external_id": e.external_id, "start_at": e.start,
                 "end_at": e.end, "source": "cal.com"} for e in events])
            s.execute(stmt.on_conflict_do_update(
                index_elements=["doctor_id", "external_id"],
                set_={"start_at": stmt.excluded.start_at, "end_at": stmt.excluded.end_at,
                      "updated_at": clock.now()}))
        s.execute(update(Doctor).where(Doctor.id == link.doctor_id).values(cal_synced_at=clock.now()))
    return len(events)


def availability_overrides(link: CalLink, window_start: datetime, window_end: datetime) -> list[dict]:
    """The doctor's explicit available slots as Cal.com date overrides (merged per day)."""
    with unit_of_work(SYSTEM) as uow:
        slots = uow.session.execute(
            select(Slot.start_at, Slot.end_at).where(
                Slot.doctor_id == link.doctor_id, Slot.is_available, Slot.source != "template",
                Slot.start_at >= window_start, Slot.start_at < window_end).order_by(Slot.start_at)).all()
    tz = ZoneInfo(link.timezone)
    merged: list[list[datetime]] = []
    for start, end in slots:
        same_day = merged and merged[-1][0].astimezone(tz).date() == start.astimezone(tz).date()
        if same_day and merged[-1][1] == start:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [{"date": s.astimezone(tz).date().isoformat(), "startTime": s.astimezone(tz).strftime("%H:%M"),
             "endTime": e.astimezone(tz).strftime("%H:%M")} for s, e in merged]


def sync_calendars(api_key: str | None, *, client: CalClient | None = None) -> dict[str, int]:
    """Job every 5 minutes: for each linked doctor, ingest busy times and push availability.
    One doctor's failure is logged and skipped; their previous busy times stay."""
    client = client or make_client(api_key)
    now = clock.now()
    window_end = now + timedelta(days=SYNC_DAYS)
    report = {"doctors": 0, "events": 0, "failed": 0}
    for link in _links(api_key):
        tz = ZoneInfo(link.timezone)
        try:
            events = client.busy_times(link, now.astimezone(tz).date(), window_end.astimezone(tz).date())
            report["events"] += ingest_busy(link, events, now, window_end)
            client.push_overrides(link, availability_overrides(link, now, window_end))
            report["doctors"] += 1
        except (CalUnavailable, KeyError, ValueError) as exc:
            report["failed"] += 1
            log.warning("cal.com sync failed", extra={"doctorId": str(link.doctor_id), "error": str(exc)})
    return report
