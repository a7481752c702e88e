"""Weekly hours per doctor against PostgreSQL (SPEC §19): the public availability, the doctor's
calendar, the copy-on-write of a template day, the KPIs' offered minutes and the Settings form
follow them; the default stays for everyone else. The clock is Monday 2 March 2026, 08:00 Paris."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import settings as doctor_settings
from core.errors import ValidationFailed
from core.metrics import kpis
from core.models import AuditEvent, Doctor
from core.scheduling import doctor_calendar
from portals.doctor import callbacks as cb
from tests.integration.scheduling.conftest import PARIS, paris, starts

AVAILABILITY = "/api/doctors/{}/unified-availability"
HOURS = {"mon": [["08:00", "09:00"], ["18:00", "19:00"]], "tue": [["12:00", "13:00"]], "sun": [["01:00", "04:00"]]}


def offered(client, doctor, day: int, month: int = 3) -> list[str]:
    start = datetime(2026, month, day, tzinfo=PARIS)
    body = client.get(AVAILABILITY.format(doctor.doctor.id), query_string={
        "from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}).get_json()
    return [s.strftime("%H:%M") for s in starts(body)]


def test_weekly_hours_replace_the_default_in_availability_and_calendar(client, doctor, make_user):
    other = make_user("doctor", full_name="Dr Default")
    doctor_settings.set_weekly_hours(doctor.actor, HOURS)
    assert offered(client, doctor, 3) == ["12:00"]  # Tuesday: one consultation in the 45-minute rhythm
    assert offered(client, doctor, 4) == []  # Wednesday: closed
    assert offered(client, doctor, 9) == ["08:00", "18:00"]  # Monday
    assert offered(client, other, 3)[0] == "10:00" and offered(client, other, 3)[-1] == "20:30"

    tuesday = doctor_calendar.doctor_calendar(doctor.actor, date(2026, 3, 3), 1).days[0]
    assert [c.local.strftime("%H:%M") for c in tuesday.cells if c.state == "available"] == ["12:00", "12:30"]
    assert not tuesday.explicit

    # One press on a weekly-hours day copies that day's hours, not 10:00–21:00.
    doctor_calendar.toggle_cell(doctor.actor, paris(3, 12), turn_on=False)
    assert offered(client, doctor, 3) == ["12:30"]
    tuesday = doctor_calendar.doctor_calendar(doctor.actor, date(2026, 3, 3), 1).days[0]
    assert tuesday.explicit
    assert [c.local.strftime("%H:%M") for c in tuesday.cells if c.state == "available"] == ["12:30"]

    with unit_of_work(SYSTEM) as uow:
        audit = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "doctor.weekly_hours_updated"))
        assert audit is not None


def test_both_dst_sundays_follow_the_hours_through_the_api(client, doctor):
    doctor_settings.set_weekly_hours(doctor.actor, HOURS)
    # 01:00–04:00 on the 23-hour day: two real hours, 45 real minutes apart (01:45 → 03:30 CEST)
    assert offered(client, doctor, 29) == ["01:00", "01:45", "03:30"]
    start = datetime(2026, 10, 25, tzinfo=PARIS)
    body = client.get(AVAILABILITY.format(doctor.doctor.id), query_string={
        "from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}).get_json()
    found = starts(body)
    assert len(found) == len({f.astimezone(UTC) for f in found}) == 5  # four real hours, every 45 minutes
    # the repeated hour is offered in both passes (02:30 summer time, then 02:15 winter time)
    assert [f.strftime("%H:%M %Z") for f in found] == ["01:00 CEST", "01:45 CEST", "02:30 CEST", "02:15 CET",
                                                        "03:00 CET"]


def test_back_to_default_stores_sql_null(client, doctor):
    doctor_settings.set_weekly_hours(doctor.actor, HOURS)
    week, own = doctor_settings.set_weekly_hours(doctor.actor, None)
    assert not own and week[2] == ((600, 1260),)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(text("SELECT weekly_hours IS NULL FROM doctors WHERE id = :id"),
                                  {"id": doctor.doctor.id})
    assert offered(client, doctor, 4)[0] == "10:00"


def test_invalid_hours_change_nothing(doctor):
    doctor_settings.set_weekly_hours(doctor.actor, HOURS)
    with pytest.raises(ValidationFailed, match="Tuesday"):
        doctor_settings.set_weekly_hours(doctor.actor, {"tue": [["12:00", "13:00"], ["12:30", "14:00"]]})
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Doctor, doctor.doctor.id).weekly_hours["tue"] == [["12:00", "13:00"]]


def test_settings_form_saves_and_reports(doctor):
    days = ["08:00-12:00, 14:00-18:00", "", "", "", "09:00 - 10:00", "", ""]
    feedback, version, *fields = cb.save_weekly_hours(doctor.actor, days)
    assert "Saved" in str(feedback) and version
    assert fields == ["08:00-12:00, 14:00-18:00", "", "", "", "09:00-10:00", "", ""]
    assert cb.load_weekly_hours(doctor.actor) == fields
    refused, *_ = cb.save_weekly_hours(doctor.actor, ["9 to 5", "", "", "", "", "", ""])
    assert "Monday" in str(refused)
    feedback, _version, *fields = cb.save_weekly_hours(doctor.actor, None)
    assert "default" in str(feedback) and fields == ["10:00-21:00"] * 7


def offered_minutes() -> float:
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.execute(kpis.OFFERED_FIGURES, {
            "tz": "Europe/Paris", "first": date(2026, 3, 2), "last": date(2026, 3, 4),
            "first_current": date(2026, 3, 2), "ps": paris(2, 0), "e": paris(5, 0)}).all()
    return float(dict(rows).get("current", 0))


def test_offered_minutes_follow_weekly_hours(doctor, add_slots):
    """Utilisation's offered minutes over Mon–Wed: 11 h a day by default; with these hours
    2 h on Monday, 1 h on Tuesday, none on Wednesday; an explicit day still counts its slots."""
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE doctors SET created_at = '2026-01-01' WHERE id = :id"),
                            {"id": doctor.doctor.id})
    default = offered_minutes()
    doctor_settings.set_weekly_hours(doctor.actor, HOURS)
    assert offered_minutes() == default - 3 * 660 + 120 + 60
    add_slots(doctor.doctor.id, [paris(4, 9), paris(4, 9, 30)])  # Wednesday: two explicit slots
    assert offered_minutes() == default - 3 * 660 + 120 + 60 + 60


def test_pending_and_suspended_doctors_offer_no_template_minutes(doctor):
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE doctors SET created_at = '2026-01-01' WHERE id = :id"),
                            {"id": doctor.doctor.id})
    offered = offered_minutes()
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(text("UPDATE doctors SET status = 'pending' WHERE id = :id"), {"id": doctor.doctor.id})
    assert offered_minutes() == offered - 3 * 660
    with unit_of_work(SYSTEM) as uow:  # suspended on Tuesday 12:00: Monday still counts
        uow.session.execute(text("UPDATE doctors SET status = 'suspended', status_changed_at = :at WHERE id = :id"),
                            {"id": doctor.doctor.id, "at": paris(3, 12)})
    assert offered_minutes() == offered - 2 * 660
