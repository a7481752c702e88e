"""The .ics of a consultation, parsed back with icalendar: one UID for the appointment's whole life,
SEQUENCE up on every change, times in the recipient's zone (TZID + VTIMEZONE) or UTC, METHOD
REQUEST to add or update and CANCEL to remove."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from core.notify.invites import Invite, build_ics, event_uid

PARIS = ZoneInfo("Europe/Paris")
APPOINTMENT = uuid.UUID("6b1f9a44-2f0e-4d7e-9a51-3c8f0f2b7a10")
START = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 14:00 in Paris
STAMP = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def invite(**changes) -> Invite:
    values = dict(appointment_id=APPOINTMENT, start=START, end=START + timedelta(minutes=30), zone="Europe/Paris",
                  summary="Video consultation with Dr Paris", description="Join: https://doktu.example/visit/1",
                  url="https://doktu.example/visit/1", attendee_email="ada@patients.doktu.eu",
                  attendee_name="Ada Lovelace", sequence=0, method="REQUEST", stamp=STAMP)
    return Invite(**{**values, **changes})


def parsed(inv: Invite):
    calendar = Calendar.from_ical(build_ics(inv))
    (event,) = calendar.events
    return calendar, event


def test_a_booking_invite_is_a_request_in_the_recipients_zone_for_30_minutes():
    calendar, event = parsed(invite())
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    assert str(event["UID"]) == f"appointment-{APPOINTMENT}@doktu.eu" == event_uid(APPOINTMENT)
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 3, 14, 0)  # local wall time
    assert event["DTSTART"].dt == START  # the same instant
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=30)
    assert event["DTSTAMP"].dt == STAMP and event["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(event["ORGANIZER"]) == "mailto:no-reply@doktu.eu"
    assert str(event["ATTENDEE"]) == "mailto:ada@patients.doktu.eu" and event["ATTENDEE"].params["CN"] == "Ada Lovelace"
    assert str(event["LOCATION"]) == str(event["URL"]) == "https://doktu.example/visit/1"


def test_the_text_uses_crlf_line_ends():
    text = build_ics(invite())
    assert text.startswith("BEGIN:VCALENDAR\r\n") and "\n" not in text.replace("\r\n", "")


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence():
    _, booked = parsed(invite())
    _, moved = parsed(invite(start=START + timedelta(hours=2), end=START + timedelta(hours=2, minutes=30), sequence=1))
    assert str(moved["UID"]) == str(booked["UID"])
    assert moved["SEQUENCE"] == booked["SEQUENCE"] + 1
    assert moved["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 3, 16, 0)


def test_a_cancellation_is_method_cancel_with_the_same_uid_and_a_higher_sequence():
    calendar, event = parsed(invite(method="CANCEL", sequence=2))
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == event_uid(APPOINTMENT) and event["SEQUENCE"] == 2
    assert invite(method="CANCEL").filename == "cancel.ics"
    assert invite(method="CANCEL").content_type == "text/calendar; method=CANCEL; charset=UTF-8"


def test_a_utc_recipient_gets_utc_times_without_a_timezone_block():
    text = build_ics(invite(zone="UTC"))
    assert "DTSTART:20260303T130000Z" in text and "DTEND:20260303T133000Z" in text
    assert "VTIMEZONE" not in text


def test_times_on_the_day_the_clocks_change_are_right():
    # Sunday 29 March 2026: Paris moves from +01:00 to +02:00 at 02:00 UTC.
    start = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    _, event = parsed(invite(start=start, end=start + timedelta(minutes=30)))
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 29, 14, 0)
    assert event["DTSTART"].dt.utcoffset() == timedelta(hours=2)
    _, winter = parsed(invite(start=START, end=START + timedelta(minutes=30), zone="America/New_York"))
    assert winter["DTSTART"].params["TZID"] == "America/New_York"
    assert winter["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 3, 8, 0)


def test_text_fields_are_escaped_not_broken():
    _, event = parsed(invite(summary="Consultation; Dr O'Neil, GP", attendee_name="Zoë, \"Zed\""))
    assert str(event["SUMMARY"]) == "Consultation; Dr O'Neil, GP"


def test_wrong_input_is_refused():
    with pytest.raises(ValueError, match="iTIP method"):
        build_ics(invite(method="PUBLISH"))
    with pytest.raises(ValueError, match="aware"):
        build_ics(invite(start=datetime(2026, 3, 3, 14, 0)))


def test_a_start_in_the_repeated_autumn_hour_is_written_in_utc_not_an_hour_early():
    """Paris, Sunday 25 October 2026: 02:00–03:00 happens twice. A consultation at the second 02:30
    (01:30 UTC) written as TZID=Europe/Paris:20261025T023000 reads as the first 02:30 (00:30 UTC)."""
    second_0230 = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS)
    assert second_0230.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    text = build_ics(invite(start=second_0230, end=second_0230 + timedelta(minutes=30)))
    assert "DTSTART:20261025T013000Z" in text.splitlines()
    _, event = parsed(invite(start=second_0230, end=second_0230 + timedelta(minutes=30)))
    assert event["DTSTART"].dt == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert "TZID" not in event["DTSTART"].params
    assert event["DTEND"].dt == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)  # 02:00 (second) is ambiguous too


def test_the_first_0230_of_that_night_is_ambiguous_too_and_both_read_back_exactly():
    for fold, utc_hour in ((0, 0), (1, 1)):
        start = datetime(2026, 10, 25, 2, 30, fold=fold, tzinfo=PARIS)
        _, event = parsed(invite(start=start, end=start + timedelta(minutes=30)))
        assert event["DTSTART"].dt == datetime(2026, 10, 25, utc_hour, 30, tzinfo=UTC)


def test_times_around_the_change_keep_the_local_zone():
    start = datetime(2026, 10, 25, 3, 30, tzinfo=PARIS)  # after the repeated hour: unambiguous
    _, event = parsed(invite(start=start, end=start + timedelta(minutes=30)))
    assert event["DTSTART"].params["TZID"] == "Europe/Paris" and event["DTSTART"].dt == start
    spring = datetime(2026, 3, 29, 3, 30, tzinfo=PARIS)  # the day the clocks go forward
    _, event = parsed(invite(start=spring, end=spring + timedelta(minutes=30)))
    assert event["DTSTART"].params["TZID"] == "Europe/Paris" and event["DTSTART"].dt == spring
