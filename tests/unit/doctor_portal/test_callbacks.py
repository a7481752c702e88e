"""The doctor portal's callbacks as plain functions (issue 8): services are replaced by fakes, so
what is checked is what each callback sends back to the page."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dash import Patch, no_update

from core.actor import Actor
from core.booking import changes, completion, doctor_agenda
from core.booking.policy import RefundOutcome
from core.errors import SlotConflict, ValidationFailed
from core.scheduling import doctor_calendar, doctor_slots
from core.scheduling.doctor_calendar import CalendarView, SlotRow, day_cells
from portals.doctor import calendar_view as cv
from portals.doctor import callbacks as cb

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)
DOCTOR = Actor(uuid.uuid4(), "doctor")
KEY = "week:2026-03-02:Europe/Paris:2026-03-02"
TUESDAY_2PM = datetime(2026, 3, 3, 14, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def paris_doctor(monkeypatch, time_machine):
    time_machine.move_to(NOW, tick=False)
    profile = doctor_slots.DoctorProfile(uuid.uuid4(), 1, "Dr Paris", "GP", "Europe/Paris", True, ["fr"])
    monkeypatch.setattr(doctor_slots, "doctor_profile", lambda actor: profile)


def week(slots=()) -> CalendarView:
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(7)]
    return CalendarView("Europe/Paris", True, NOW, [
        day_cells(PARIS, d, slots=list(slots), booked=[], busy=[], now=NOW) for d in days])


def off_at(start):
    return SlotRow(start, start + timedelta(minutes=30), False, True, False)


def press(state="available", key=KEY, start=TUESDAY_2PM):
    return {"start": start.isoformat(), "state": state, "rc": "28,1", "key": key, "n": 1}


PAGE = {"zone": "Europe/Paris", "key": KEY}


def pressed(cell, refused=None):
    return doctor_calendar.Pressed(cell, refused)


def test_pressing_a_green_cell_turns_it_off_and_patches_only_that_entry(monkeypatch):
    calls = []

    def press_cell(actor, start, *, turn_on):
        calls.append((actor, start, turn_on))
        return pressed(cv.locate(week([off_at(start)]), start)[2])

    monkeypatch.setattr(doctor_calendar, "press_cell", press_cell)
    out = cb.press_cell(DOCTOR, press("available"), PAGE)

    assert calls == [(DOCTOR, TUESDAY_2PM, False)]
    assert out["status"] == "Tuesday 3 March, 14:00 is now unavailable."
    operations = out["cells"].to_plotly_json()["operations"]
    assert [op["location"] for op in operations] == [["cells", 28 * 7 + 1]]
    assert operations[0]["params"]["value"]["state"] == "unavailable"
    assert out["digests"].to_plotly_json()["operations"][0]["location"] == [28 * 7 + 1]


def test_pressing_a_white_cell_turns_it_on(monkeypatch):
    seen = {}

    def press_cell(actor, start, *, turn_on):
        seen["on"] = turn_on
        return pressed(cv.locate(week(), start)[2])

    monkeypatch.setattr(doctor_calendar, "press_cell", press_cell)
    out = cb.press_cell(DOCTOR, press("unavailable"), PAGE)
    # 14:00 and 14:15 lie between the offered 13:45 and 14:30 (the 45-minute rhythm)
    assert seen["on"] is True and out["status"] == ("Tuesday 3 March, 14:00 is now available (not offered to "
                                                    "patients: between two offered starts 45 minutes apart).")


def test_a_refused_press_says_why_and_shows_the_cell_as_it_is(monkeypatch):
    refusal = SlotConflict("This time is booked: cancel the appointment instead.")
    monkeypatch.setattr(doctor_calendar, "press_cell",
                        lambda actor, start, *, turn_on: pressed(cv.locate(week(), start)[2], refusal))
    out = cb.press_cell(DOCTOR, press(), PAGE)
    assert out["status"] == "This time is booked: cancel the appointment instead."
    assert out["cells"].to_plotly_json()["operations"][0]["params"]["value"]["state"] == "available"


@pytest.mark.parametrize("bad", [
    None, press(key="day:2026-03-03:Europe/Paris:2026-03-02"), press(state="booked-inert"), press(state="past"),
])
def test_presses_for_another_grid_or_inert_cells_change_nothing(monkeypatch, bad):
    monkeypatch.setattr(doctor_calendar, "press_cell", lambda *a, **k: pytest.fail("must not toggle"))
    assert cb.press_cell(DOCTOR, bad, PAGE) == {"cells": no_update, "digests": no_update, "status": no_update}


def test_a_press_the_page_could_not_have_sent_is_refused_with_a_message(monkeypatch):
    monkeypatch.setattr(doctor_calendar, "press_cell", lambda *a, **k: pytest.fail("must not toggle"))
    out = cb.press_cell(DOCTOR, {**press(), "rc": "99,9"}, PAGE)
    assert out["cells"] is no_update and out["status"] == "That time could not be read. Please reload the page."


def test_refresh_sends_only_what_changed(monkeypatch):
    monkeypatch.setattr(doctor_slots, "doctor_profile", lambda actor: pytest.fail("the zone is in the page"))
    monkeypatch.setattr(doctor_calendar, "doctor_calendar", lambda actor, first, count: week())
    nav = {"view": "week", "anchor": "2026-03-02"}
    first = cb.refresh_calendar(DOCTOR, nav, {"zone": "Europe/Paris"}, None)
    assert first["page"] == PAGE and first["title"].startswith("Week of 2 March")
    assert len(first["cells"]["cells"]) == 48 * 7 and first["digests"] == cv.grid_digests(week())

    unchanged = cb.refresh_calendar(DOCTOR, nav, PAGE, first["digests"])
    assert unchanged == {"cells": no_update, "digests": no_update, "page": no_update, "title": no_update}

    monkeypatch.setattr(doctor_calendar, "doctor_calendar", lambda actor, first, count: week([off_at(TUESDAY_2PM)]))
    changed = cb.refresh_calendar(DOCTOR, nav, PAGE, first["digests"])
    assert isinstance(changed["cells"], Patch) and changed["page"] is no_update
    # 14:00, and 13:30 whose 13:45 start now overlaps the closed time (no longer offered)
    assert [op["location"] for op in changed["cells"].to_plotly_json()["operations"]] == [
        ["cells", 27 * 7 + 1], ["cells", 28 * 7 + 1]]


def test_a_tick_that_finds_nothing_changed_makes_no_words(monkeypatch):
    """The 30 s tick compares digests of the cells' fields: no label, class or catalog lookup unless
    an entry changed, and then only that entry's."""
    monkeypatch.setattr(doctor_calendar, "doctor_calendar", lambda actor, first, count: week())
    nav = {"view": "week", "anchor": "2026-03-02"}
    first = cb.refresh_calendar(DOCTOR, nav, PAGE, None)
    made = []
    real_entry = cv.Labels.entry
    monkeypatch.setattr(cv.Labels, "entry", lambda self, cell: made.append(cell.start) or real_entry(self, cell))
    monkeypatch.setattr(cv.Labels, "gap", lambda *a: pytest.fail("no gap this week"))
    assert cb.refresh_calendar(DOCTOR, nav, PAGE, first["digests"])["cells"] is no_update
    assert made == []
    monkeypatch.setattr(doctor_calendar, "doctor_calendar", lambda actor, first, count: week([off_at(TUESDAY_2PM)]))
    cb.refresh_calendar(DOCTOR, nav, PAGE, first["digests"])
    assert made == [TUESDAY_2PM - timedelta(minutes=30), TUESDAY_2PM]


def test_refresh_of_another_grid_renders_it_whole(monkeypatch):
    monkeypatch.setattr(doctor_calendar, "doctor_calendar", lambda actor, first, count: week())
    out = cb.refresh_calendar(DOCTOR, {"view": "week", "anchor": "2026-03-02"},
                              {"zone": "Europe/Paris", "key": "week:old"}, ["x"])
    assert out["cells"]["key"] == KEY and out["page"] == PAGE and len(out["digests"]) == 48 * 7


def test_a_forged_zone_in_the_page_falls_back_to_the_profile(monkeypatch):
    assert cb.page_zone({"zone": "Mars/Olympus"}) is None and cb.page_zone({"zone": 3}) is None
    assert cb.page_zone(None) is None and cb.page_zone({"zone": "Europe/Paris"}) == "Europe/Paris"
    monkeypatch.setattr(doctor_calendar, "doctor_calendar", lambda actor, first, count: week())
    out = cb.refresh_calendar(DOCTOR, {"view": "week", "anchor": "2026-03-02"}, {"zone": "Mars/Olympus"}, None)
    assert out["page"] == PAGE  # doctor_profile (the fixture's Paris) was asked


def test_navigation():
    today = date(2026, 3, 2)
    nav = {"view": "week", "anchor": "2026-03-02"}
    assert cb.navigate("doctor-cal-next", "week", nav, None, today) == ({"view": "week", "anchor": "2026-03-09"}, "week")
    assert cb.navigate("doctor-cal-view", "month", nav, None, today) == ({"view": "month", "anchor": "2026-03-02"},
                                                                          "month")
    opened = cb.navigate(cv.OPEN_DAY, "month", {"view": "month", "anchor": "2026-03-02"}, {"day": "2026-03-17"}, today)
    assert opened == ({"view": "day", "anchor": "2026-03-17"}, "day")
    assert cb.navigate("doctor-cal-today", "day", {"view": "day", "anchor": "2026-05-01"}, None, today)[0] == \
        {"view": "day", "anchor": "2026-03-02"}


def test_bulk_turns_a_whole_day_off_until_midnight(monkeypatch):
    seen = {}

    def set_range(actor, **kwargs):
        seen.update(kwargs)
        return doctor_slots.BatchResult(0, 22, [NOW])

    monkeypatch.setattr(doctor_calendar, "set_range", set_range)
    version, message = cb.apply_range(DOCTOR, False, "2026-03-03", "2026-03-03", "00:00", "24:00", [0, 1])
    assert seen["end_time"].isoformat() == "00:00:00" and seen["turn_on"] is False and seen["weekdays"] == {0, 1}
    assert message == "Turned off 22 half-hour slots. 1 left as it was (past, booked, held or overlapping)."
    assert version is not no_update


def test_bulk_refusal_is_a_message(monkeypatch):
    monkeypatch.setattr(doctor_calendar, "set_range",
                        lambda actor, **k: (_ for _ in ()).throw(ValidationFailed("A batch covers at most 62 days.")))
    version, message = cb.apply_range(DOCTOR, True, "2026-03-03", "2026-06-03", "10:00", "12:00", [0])
    assert version is no_update and message == "A batch covers at most 62 days."
    assert cb.apply_range(DOCTOR, True, "", "", "10:00", "12:00", [0])[1] == "Choose the first day."


def test_going_offline_shows_the_note(monkeypatch):
    monkeypatch.setattr(doctor_slots, "set_online", lambda actor, online: doctor_slots.DoctorProfile(
        uuid.uuid4(), 1, "Dr", "GP", "Europe/Paris", online, []))
    text, note_hidden = cb.set_online(DOCTOR, False)
    assert text.startswith("Offline") and note_hidden is False
    assert cb.set_online(DOCTOR, True)[1] is True


def item(**overrides) -> doctor_agenda.UpcomingItem:
    start = NOW + timedelta(minutes=3)
    values = dict(id=uuid.uuid4(), patient_name="Noor Haddad", patient_user_id=uuid.uuid4(), start=start,
                  end=start + timedelta(minutes=30), status="confirmed", paid_cents=3500, join_open=True,
                  join_refusal=None, join_opens_at=start - timedelta(minutes=5),
                  join_closes_at=start + timedelta(minutes=30), completion_refusal="not yet", can_cancel=True,
                  refund=RefundOutcome("card", 3500, 0, 1000))
    values.update(overrides)
    return doctor_agenda.UpcomingItem(**values)


def test_upcoming_refresh_without_a_change_sends_nothing(monkeypatch):
    items = [item()]
    monkeypatch.setattr(doctor_agenda, "doctor_upcoming", lambda actor: items)
    listing, sig = cb.refresh_upcoming(DOCTOR, None)
    assert listing is not no_update
    assert cb.refresh_upcoming(DOCTOR, sig) == (no_update, no_update)


def test_cancel_needs_a_reason_and_reports_the_refund(monkeypatch):
    target = item()
    monkeypatch.setattr(doctor_agenda, "doctor_upcoming", lambda actor: [target])
    calls = []
    monkeypatch.setattr(changes, "cancel", lambda actor, appointment_id, reason: calls.append(reason) or
                        changes.Cancellation(None, RefundOutcome("card", 3500, 0, 1000)))

    still_open, invalid, feedback, *_ = cb.confirm_cancel(DOCTOR, str(target.id), "  ")
    assert (still_open, invalid, feedback) == (True, True, "Please give the patient a reason.") and calls == []

    closed, invalid, feedback, status, changed = cb.confirm_cancel(DOCTOR, str(target.id), "I am ill")
    assert closed is False and calls == ["I am ill"]
    assert status == ("Cancelled. Noor Haddad gets a full refund: €35 back to their card. Because you cancel less "
                      "than 60 minutes before the start, they also get a €10 credit.")
    assert changed is not no_update


def test_open_cancel_states_the_consequence_first(monkeypatch):
    target = item(refund=RefundOutcome("card", 3500, 0, 0))
    monkeypatch.setattr(doctor_agenda, "doctor_upcoming", lambda actor: [target])
    is_open, body, stored = cb.open_cancel(DOCTOR, str(target.id))
    assert is_open and stored == str(target.id)
    assert body[1].children == "Noor Haddad gets a full refund: €35 back to their card."


def test_complete_reports_the_time(monkeypatch):
    appointment_id = uuid.uuid4()
    monkeypatch.setattr(completion, "complete", lambda actor, i: completion.Completed(i, "completed", NOW))
    version, message = cb.complete_appointment(DOCTOR, str(appointment_id))
    assert message == "Marked completed at 08:00." and version is not no_update
    assert cb.complete_appointment(DOCTOR, "not-a-uuid")[0] is no_update


def test_view_schedule_toggles_the_calendar():
    assert cb.toggle_schedule(1) == (True, "false", "View schedule")
    assert cb.toggle_schedule(2) == (False, "true", "Hide schedule")
