"""The doctor calendar against PostgreSQL (SPEC §3, §4): a press turns one cell on or off with the
doctor time-slot semantics, and the public availability follows; bulk changes, DST days, Offline,
settings, and the Dash endpoint behind the grid.

The clock is Monday 2 March 2026, 08:00 in Paris."""

import itertools
import json
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import settings as doctor_settings
from core.errors import SlotConflict, TimeWindow, ValidationFailed
from core.models import AuditEvent, Slot
from core.scheduling import doctor_calendar, doctor_slots
from portals.doctor import callbacks as cb
from tests.integration.scheduling.conftest import PARIS, paris, starts

AVAILABILITY = "/api/doctors/{}/unified-availability"


def offered(client, doctor, day: int, month: int = 3) -> set[str]:
    start = datetime(2026, month, day, tzinfo=PARIS)
    body = client.get(AVAILABILITY.format(doctor.doctor.id), query_string={
        "from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}).get_json()
    return {s.strftime("%H:%M") for s in starts(body)}


def cell(doctor, when: datetime) -> doctor_calendar.Cell:
    return doctor_calendar.cell_at(doctor.actor, when)


def test_turning_a_template_cell_off_withdraws_it_and_it_stays_off(client, doctor):
    assert "14:30" in offered(client, doctor, 3)
    turned = doctor_calendar.toggle_cell(doctor.actor, paris(3, 14, 30), turn_on=False)
    assert turned.state == "unavailable" and turned.pressable
    after = offered(client, doctor, 3)
    assert "14:30" not in after and {"13:45", "15:00", "20:15"} <= after  # the rhythm goes on after it
    week = doctor_calendar.doctor_calendar(doctor.actor, date(2026, 3, 2), 7)
    tuesday = week.days[1]
    assert tuesday.explicit  # copied on write: one press changed one cell
    assert [c.local.strftime("%H:%M") for c in tuesday.cells if c.state == "available"] == \
        [f"{h:02d}:{m:02d}" for h in range(10, 21) for m in (0, 30) if (h, m) != (14, 30)]

    again = doctor_calendar.toggle_cell(doctor.actor, paris(3, 14, 30), turn_on=True)
    assert again.state == "available" and "14:30" in offered(client, doctor, 3)


def test_turning_a_cell_on_outside_the_default_hours_offers_it(client, doctor):
    assert "08:00" not in offered(client, doctor, 4)
    assert doctor_calendar.toggle_cell(doctor.actor, paris(4, 8), turn_on=True).state == "available"
    assert {"08:00", "10:00"} <= offered(client, doctor, 4)


def test_booked_cells_name_the_patient_and_refuse_a_press(doctor, book):
    patient = book(doctor.doctor.id, paris(3, 15))
    booked = cell(doctor, paris(3, 15))
    assert booked.state == "booked" and booked.patient_name == patient.user.full_name and not booked.pressable
    with pytest.raises(SlotConflict):
        doctor_calendar.toggle_cell(doctor.actor, paris(3, 15), turn_on=False)
    near = cell(doctor, paris(3, 14, 30))  # 14:30 and 14:45 are within 45 minutes of 15:00
    assert (near.state, near.not_offered) == ("available", "within 45 minutes of a booking")
    assert cell(doctor, paris(3, 15, 30)).offered_starts == 1  # 15:45: the rhythm starts again
    assert cell(doctor, paris(3, 16)).not_offered == "between two offered starts 45 minutes apart"


def test_an_abandoned_checkout_shows_as_held_then_frees_its_cells_when_the_hold_ends(doctor, patient, clock_at):
    from core import clock
    from core.booking.pending import create_pending

    create_pending(patient().actor, doctor.doctor.id, paris(3, 15))
    assert cell(doctor, paris(3, 15)).state == "booked"  # pending: a patient is paying for it
    assert cell(doctor, paris(3, 14, 30)).not_offered == "within 45 minutes of a booking"
    assert any(s.is_booked for s in doctor_slots.list_slots(doctor.actor, paris(3, 0), paris(4, 0)))
    clock_at(clock.now() + timedelta(minutes=15))  # the hold is over; no unlock job has run
    assert cell(doctor, paris(3, 15)).state == "available"
    assert cell(doctor, paris(3, 14, 30)).not_offered is None
    assert not any(s.is_booked for s in doctor_slots.list_slots(doctor.actor, paris(3, 0), paris(4, 0)))


def test_past_cells_cannot_be_changed(doctor):
    past = cell(doctor, paris(2, 7, 30))
    assert past.past and not past.pressable
    with pytest.raises(TimeWindow):
        doctor_calendar.toggle_cell(doctor.actor, paris(2, 7, 30), turn_on=True)


def test_a_refused_press_in_the_portal_resyncs_the_cell(doctor, book):
    book(doctor.doctor.id, paris(3, 15))
    key = "week:2026-03-02:Europe/Paris:2026-03-02"
    press = {"start": paris(3, 15).isoformat(), "state": "available", "rc": "30,1", "key": key}
    out = cb.press_cell(doctor.actor, press, {"zone": "Europe/Paris", "key": key})
    assert out["status"] == "This time is booked: cancel the appointment instead."
    [operation] = out["cells"].to_plotly_json()["operations"]
    assert operation["location"] == ["cells", 30 * 7 + 1] and operation["params"]["value"]["state"] == "booked-inert"


def test_a_press_is_one_transaction_and_a_refused_one_too(doctor, book, monkeypatch):
    """Issue 22: the write and the cell read back share one unit of work (the refusal rolls back a
    savepoint only, so the read still happens in the same transaction)."""
    opened = []
    real = doctor_calendar.unit_of_work

    def counting(actor, **kwargs):
        opened.append(actor)
        return real(actor, **kwargs)

    monkeypatch.setattr(doctor_calendar, "unit_of_work", counting)
    monkeypatch.setattr(doctor_slots, "unit_of_work", counting)
    done = doctor_calendar.press_cell(doctor.actor, paris(3, 14), turn_on=False)
    assert done.refused is None and done.cell.state == "unavailable" and len(opened) == 1
    book(doctor.doctor.id, paris(3, 15))
    refused = doctor_calendar.press_cell(doctor.actor, paris(3, 15), turn_on=False)
    assert isinstance(refused.refused, SlotConflict) and refused.cell.state == "booked" and len(opened) == 2
    past = doctor_calendar.press_cell(doctor.actor, paris(2, 7), turn_on=True)
    assert isinstance(past.refused, TimeWindow) and past.cell.past and len(opened) == 3
    assert cell(doctor, paris(3, 14)).state == "unavailable"  # the change was committed


def test_a_whole_day_off_until_midnight_then_a_range_back_on(client, doctor):
    _version, message = cb.apply_range(doctor.actor, False, "2026-03-04", "2026-03-04", "00:00", "24:00", [2])
    assert message == "Turned off 48 half-hour slots." and offered(client, doctor, 4) == set()
    _version, message = cb.apply_range(doctor.actor, True, "2026-03-04", "2026-03-04", "09:00", "10:00", [2])
    assert message == "Turned on 2 half-hour slots." and offered(client, doctor, 4) == {"09:00"}


def test_usual_hours_make_exactly_these_hours_open(client, doctor, add_slots):
    add_slots(doctor.doctor.id, [paris(5, h) for h in (8, 15, 17)], length=30)
    result = doctor_calendar.set_usual_hours(doctor.actor, first_day=date(2026, 3, 5), last_day=date(2026, 3, 5),
                                             start_time=time(9), end_time=time(11), weekdays={3})
    assert result.created == 4 and result.updated == 3
    assert offered(client, doctor, 5) == {"09:00", "09:45", "10:30"}  # the 45-minute rhythm


def test_bulk_hours_step_in_real_time_on_dst_days(doctor, clock_at):
    clock_at(paris(20, 8))
    forward = doctor_slots.batch_set_slots(doctor.actor, first_day=date(2026, 3, 29), last_day=date(2026, 3, 29),
                                           weekdays={6}, start_time=time(0), end_time=time(0))
    assert forward.created == 46 and forward.skipped == []
    clock_at(datetime(2026, 10, 20, 8, tzinfo=PARIS))
    back = doctor_slots.batch_set_slots(doctor.actor, first_day=date(2026, 10, 25), last_day=date(2026, 10, 25),
                                        weekdays={6}, start_time=time(0), end_time=time(0))
    assert back.created == 50
    with unit_of_work(SYSTEM) as uow:
        day = uow.session.scalars(select(Slot.start_at).where(
            Slot.doctor_id == doctor.doctor.id, Slot.start_at >= datetime(2026, 10, 25, tzinfo=PARIS),
            Slot.start_at < datetime(2026, 10, 26, tzinfo=PARIS)).order_by(Slot.start_at)).all()
    assert len(set(day)) == 50 and all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(day))
    column = doctor_calendar.doctor_calendar(doctor.actor, date(2026, 10, 25), 1).days[0]
    assert len(column.cells) == 50 and all(c.state == "available" for c in column.cells)


def test_offline_hides_every_slot_at_once(client, doctor):
    assert offered(client, doctor, 3)
    _status, note_hidden = cb.set_online(doctor.actor, False)
    assert offered(client, doctor, 3) == set() and note_hidden is False
    assert doctor_calendar.doctor_calendar(doctor.actor, date(2026, 3, 3), 1).online is False
    cb.set_online(doctor.actor, True)
    assert offered(client, doctor, 3)


def test_month_overview_counts_the_starts_patients_are_offered_and_bookings(client, doctor, book):
    book(doctor.doctor.id, paris(3, 15))
    zone, days = doctor_calendar.month_overview(doctor.actor, 2026, 3)
    by_day = {d.day: d for d in days}
    assert zone == "Europe/Paris" and len(days) == 42
    assert by_day[date(2026, 3, 3)].booked == 1 and by_day[date(2026, 3, 3)].available == 13
    assert by_day[date(2026, 3, 1)].past and by_day[date(2026, 3, 4)].available == 15
    for day in (3, 4, 7):  # the patient's list of that day has the same number
        assert by_day[date(2026, 3, day)].available == len(offered(client, doctor, day))


def test_settings_change_the_time_zone_and_profile_texts_audited(doctor):
    saved = doctor_settings.update_settings(doctor.actor, timezone="Europe/Lisbon", bio=" About me ",
                                            philosophy="Listen first.")
    assert saved == doctor_settings.DoctorSettings("Europe/Lisbon", "About me", "Listen first.")
    column = doctor_calendar.doctor_calendar(doctor.actor, date(2026, 3, 3), 1).days[0]
    assert column.cells[20].local.strftime("%H:%M %Z") == "10:00 WET"
    with pytest.raises(ValidationFailed):
        doctor_settings.update_settings(doctor.actor, timezone="Mars/Olympus", bio="", philosophy="")
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "doctor.settings_updated", AuditEvent.actor_id == doctor.user.id)) == 1


def test_the_dash_press_endpoint_patches_one_entry_and_is_guarded(client, doctor, login, make_user):
    key = "week:2026-03-02:Europe/Paris:2026-03-02"
    login(doctor.email)
    client.get("/doctor/")
    token = client.get_cookie("_csrf_token", path="/doctor/").value
    dependencies = client.get("/doctor/_dash-dependencies").get_json()
    press = next(d for d in dependencies if d["inputs"] == [{"id": "doctor-cal-press", "property": "data"}])
    body = {"output": press["output"], "outputs": [
        {"id": o.split(".")[0], "property": o.split(".")[1]} for o in press["output"].strip(".").split("...")],
        "inputs": [{"id": "doctor-cal-press", "property": "data",
                    "value": {"start": paris(3, 14).isoformat(), "state": "available", "rc": "28,1", "key": key}}],
        "state": [{"id": "doctor-page", "property": "data", "value": {"zone": "Europe/Paris", "key": key}}],
        "changedPropIds": ["doctor-cal-press.data"]}
    assert client.post("/doctor/_dash-update-component", json=body).status_code == 400  # no CSRF header
    answer = client.post("/doctor/_dash-update-component", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = json.loads(answer.get_data(as_text=True))["response"]
    [operation] = data["doctor-cal-cells"]["data"]["operations"]
    assert operation["location"] == ["cells", 28 * 7 + 1]
    assert operation["params"]["value"]["label"] == "Tuesday 3 March, 14:00, unavailable — press to turn on"
    assert data["doctor-cal-status"]["children"] == "Tuesday 3 March, 14:00 is now unavailable."

    client.delete_cookie("doktu_session")
    login(make_user("patient").email)
    refused = client.post("/doctor/_dash-update-component", json=body, headers={"X-CSRFToken": token})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "ERR_FORBIDDEN"


@pytest.mark.parametrize(("accept", "title", "label", "month"), [
    ("fr-FR", "Semaine du 2 mars au 8 mars 2026", "mardi 3 mars, 14:30, disponible — appuyez pour désactiver",
     "mardi 3 mars : 20 horaires réservables par les patients, 1 réservé — appuyez pour ouvrir le jour"),
    ("de-DE", "Woche vom 2. März bis 8. März 2026",
     "Dienstag, 3. März, 14:30, verfügbar — drücken zum Ausschalten",
     "Dienstag, 3. März: 20 Zeiten für Patienten buchbar, 1 gebucht — drücken, um den Tag zu öffnen"),
])
def test_the_calendar_speaks_the_page_language(app, accept, title, label, month):
    """SPEC §20: the grid's words are made on the server, in the request's language."""
    from core.scheduling.doctor_calendar import CalendarView, DaySummary, day_cells
    from portals.doctor import calendar_view as cv

    now = paris(2, 8)
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(7)]
    view = CalendarView("Europe/Paris", True, now,
                        [day_cells(PARIS, d, slots=[], booked=[], busy=[], now=now) for d in days])
    with app.test_request_context("/doctor/", headers={"Accept-Language": accept}):
        data = cv.grid_data("week", view, "k", date(2026, 3, 2))
        assert cv.view_title("week", date(2026, 3, 2)) == title
        assert data["cells"][29 * 7 + 1]["label"] == label  # 14:30: an offered start
        assert cv.month_label(DaySummary(date(2026, 3, 3), 20, 1, False)) == month
