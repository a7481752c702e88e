"""The Cal.com bridge (SPEC §3), offline: recorded answers, retries, timeouts, and the dev fake."""

import json
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import ExternalBusy
from core.scheduling.availability import doctor_availability
from core.scheduling.cal_service import CalClient, CalLink, CalUnavailable, sync_calendars
from tests.integration.scheduling.conftest import paris

RECORDED = json.loads((Path(__file__).parents[2] / "fixtures/cal/busy_times.json").read_text())


def replay(*answers, seen=None):
    """A transport that answers in turn (a status + body, or an exception to raise)."""
    queue = list(answers)

    def handle(request: httpx.Request):
        if seen is not None:
            seen.append(request)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def link(doctor_id=None, schedule_id=None):
    return CalLink(doctor_id, "Europe/Paris", 135, "dr@example.org", schedule_id)


def test_busy_times_are_read_from_cal_com_api_v2():
    seen = []
    client = CalClient("cal_live_key", transport=replay((200, RECORDED), seen=seen), backoff=0)
    events = client.busy_times(link(), date(2026, 3, 3), date(2026, 3, 16))
    assert [(e.start.isoformat(), e.end.isoformat()) for e in events] == [
        ("2026-03-03T08:00:00+00:00", "2026-03-03T09:30:00+00:00"),
        ("2026-03-04T15:00:00+00:00", "2026-03-04T15:45:00+00:00")]
    request = seen[0]
    assert request.url.path == "/v2/calendars/busy-times"
    assert request.url.params["calendarsToLoad[0][credentialId]"] == "135"
    assert request.url.params["timeZone"] == "Europe/Paris" and request.url.params["dateFrom"] == "2026-03-03"
    assert request.headers["Authorization"] == "Bearer cal_live_key"


def test_transient_failures_are_retried():
    seen = []
    client = CalClient("k", transport=replay((503, {}), httpx.ConnectTimeout("slow"), (200, RECORDED),
                                             seen=seen), backoff=0)
    assert len(client.busy_times(link(), date(2026, 3, 3), date(2026, 3, 4))) == 2
    assert len(seen) == 3


@pytest.mark.parametrize("answer", [(503, {}), httpx.ReadTimeout("timeout"), (200, {"status": "error"})])
def test_a_failing_cal_com_raises_cal_unavailable(answer):
    client = CalClient("k", transport=replay(answer), backoff=0)
    with pytest.raises(CalUnavailable):
        client.busy_times(link(), date(2026, 3, 3), date(2026, 3, 4))


def test_client_errors_are_not_retried():
    seen = []
    client = CalClient("k", transport=replay((401, {"status": "error"}), seen=seen), backoff=0)
    with pytest.raises(CalUnavailable, match="401"):
        client.busy_times(link(), date(2026, 3, 3), date(2026, 3, 4))
    assert len(seen) == 1


def busy_rows(doctor_id):
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalars(select(ExternalBusy).where(ExternalBusy.doctor_id == doctor_id)
                                   .order_by(ExternalBusy.start_at)).all()


def test_dev_fake_events_block_slots_and_resync_is_idempotent(doctor):
    report = sync_calendars(None)
    assert report["failed"] == 0 and report["doctors"] >= 1
    rows = busy_rows(doctor.doctor.id)
    assert len(rows) == 10  # one busy hour on each weekday of the next 14 days
    sync_calendars(None)
    assert len(busy_rows(doctor.doctor.id)) == 10
    first = rows[0]
    offered = {a.start for a in doctor_availability(SYSTEM, doctor.doctor.id, first.start_at,
                                                      first.end_at).slots if a.is_available}
    assert offered == set()


def test_linked_doctors_sync_from_recorded_answers_and_push_their_slots(doctor, add_slots):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("""UPDATE doctors SET cal_credential_id = 135, cal_external_id = 'dr@example.org',
                                           cal_schedule_id = 42 WHERE id = :d"""), {"d": doctor.doctor.id})
    add_slots(doctor.doctor.id, [paris(5, 8), paris(5, 8, 30), paris(5, 14)])
    seen = []
    client = CalClient("k", transport=replay((200, RECORDED), seen=seen), backoff=0)
    report = sync_calendars("k", client=client)
    assert report == {"doctors": 1, "events": 2, "failed": 0}
    assert [r.start_at for r in busy_rows(doctor.doctor.id)] == [paris(3, 9), paris(4, 16)]
    taken = {a.start for a in doctor_availability(SYSTEM, doctor.doctor.id, paris(3, 8), paris(3, 12)).slots}
    assert paris(3, 10) not in taken and paris(3, 10, 30) in taken
    patch = next(r for r in seen if r.method == "PATCH")
    assert patch.url.path == "/v2/schedules/42"
    assert json.loads(patch.content)["overrides"] == [
        {"date": "2026-03-05", "startTime": "08:00", "endTime": "09:00"},
        {"date": "2026-03-05", "startTime": "14:00", "endTime": "14:30"}]


def test_a_failing_cal_com_never_breaks_availability(doctor):
    sync_calendars(None)
    before = len(busy_rows(doctor.doctor.id))
    down = CalClient("k", transport=replay(httpx.ConnectError("down")), backoff=0)
    report = sync_calendars(None, client=down)
    assert report["failed"] >= 1 and report["doctors"] == 0
    assert len(busy_rows(doctor.doctor.id)) == before  # last known busy times kept
    assert doctor_availability(SYSTEM, doctor.doctor.id).slots


def test_vanished_events_are_removed(doctor):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE doctors SET cal_external_id = 'dr@example.org' WHERE id = :d"),
                            {"d": doctor.doctor.id})
    sync_calendars("k", client=CalClient("k", transport=replay((200, RECORDED)), backoff=0))
    assert len(busy_rows(doctor.doctor.id)) == 2
    only_one = {"status": "success", "data": RECORDED["data"][:1]}
    sync_calendars("k", client=CalClient("k", transport=replay((200, only_one)), backoff=0))
    assert len(busy_rows(doctor.doctor.id)) == 1


def test_the_bridge_is_switched_per_doctor_in_settings(client, doctor, make_user):
    """SPEC §19: off → not synced and its busy times stop blocking at once; on → the next sync
    blocks again. Invited doctors start with it off."""
    from core.doctors import settings as doctor_settings
    from core.errors import ValidationFailed
    from portals.doctor import callbacks as cb

    other = make_user("doctor")
    report = sync_calendars(None)
    assert report["doctors"] >= 2
    with unit_of_work(SYSTEM) as uow:
        busy = uow.session.scalar(text("SELECT count(*) FROM external_busy WHERE doctor_id = :d"),
                                  {"d": doctor.doctor.id})
    assert busy > 0
    value, schedule, feedback = cb.save_cal_bridge(doctor.actor, False, "")
    assert schedule == ""
    assert value == [] and "no longer block" in str(feedback)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM external_busy WHERE doctor_id = :d"),
                                  {"d": doctor.doctor.id}) == 0
    after = sync_calendars(None)
    assert after["doctors"] == report["doctors"] - 1
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM external_busy WHERE doctor_id = :d"),
                                  {"d": doctor.doctor.id}) == 0
        assert uow.session.scalar(text("SELECT count(*) FROM external_busy WHERE doctor_id = :d"),
                                  {"d": other.doctor.id}) > 0
    with pytest.raises(ValidationFailed):
        doctor_settings.set_cal_bridge(doctor.actor, enabled=True, schedule_id="abc")
    assert cb.save_cal_bridge(doctor.actor, True, "4242")[:2] == (["on"], "4242")
    sync_calendars(None)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM external_busy WHERE doctor_id = :d"),
                                  {"d": doctor.doctor.id}) == busy
    assert cb.load_cal_bridge(doctor.actor) == (["on"], "4242", None)
