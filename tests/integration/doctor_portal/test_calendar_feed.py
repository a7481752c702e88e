"""The doctor's private iCalendar feed (SPEC §19), parsed with `icalendar`: a secret URL that
rotates, patients as initials only, one UID per appointment that survives a reschedule (SEQUENCE
grows) and a cancellation (STATUS:CANCELLED); unpaid holds are not shown."""

from datetime import UTC

from icalendar import Calendar

from core.booking.changes import cancel, reschedule
from core.doctors import calendar_feed
from core.notify.invites import event_uid
from portals.doctor import callbacks as cb
from tests.integration.scheduling.conftest import paris


def feed_url(app, actor, *, rotate=False):
    with app.app_context():
        return cb.feed_url(actor, rotate=rotate)


def events(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_feed_follows_bookings_with_initials_and_stable_uids(client, app, doctor, patient, appointment,
                                                              make_user):
    url, _ = feed_url(app, doctor.actor)
    path = url[url.index("/calendar/"):]
    noor = patient("Noor Haddad")
    booked = appointment(doctor, noor, paris(3, 14))
    appointment(doctor, patient("Ben Okafor"), paris(4, 9), status="pending")  # an unpaid hold
    found = events(client, path)
    assert list(found) == [event_uid(booked)]
    event = found[event_uid(booked)]
    assert str(event["summary"]) == "Doktu consultation — N.H."
    assert event.decoded("dtstart") == paris(3, 14).astimezone(UTC)
    assert str(event["status"]) == "CONFIRMED" and int(event["sequence"]) == 0
    body = client.get(path).get_data(as_text=True)
    assert "Noor" not in body and "Haddad" not in body and noor.user.email not in body

    reschedule(noor.actor, booked, paris(3, 16))
    moved = events(client, path)[event_uid(booked)]
    assert moved.decoded("dtstart") == paris(3, 16).astimezone(UTC) and int(moved["sequence"]) == 1

    cancel(doctor.actor, booked, "Unwell today")
    gone = events(client, path)[event_uid(booked)]
    assert str(gone["status"]) == "CANCELLED" and int(gone["sequence"]) == 2


def test_wrong_and_rotated_tokens_find_nothing(client, app, doctor, make_user):
    url, _ = feed_url(app, doctor.actor)
    old = url[url.index("/calendar/"):]
    assert client.get(old).status_code == 200
    assert client.get(old.replace(".ics", "x.ics")).status_code == 404
    other = make_user("doctor")
    other_url, _ = feed_url(app, other.actor)
    token = other_url.rsplit("/", 1)[1]
    assert client.get(f"/calendar/{doctor.doctor.id}/{token}").status_code == 404  # not transferable
    new_url, feedback = feed_url(app, doctor.actor, rotate=True)
    assert new_url != url and "no longer works" in str(feedback)
    assert client.get(old).status_code == 404
    assert client.get(new_url[new_url.index("/calendar/"):]).status_code == 200


def test_initials():
    assert calendar_feed.initials("Noor Haddad") == "N.H."
    assert calendar_feed.initials("Jean-Luc de la Fontaine") == "J.F."
    assert calendar_feed.initials("Cher") == "C."
    assert calendar_feed.initials("") == "?"
