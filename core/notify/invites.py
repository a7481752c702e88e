"""Calendar invites (.ics, RFC 5545 / iTIP RFC 5546) for a consultation: a pure function of plain values.

One event per appointment for its whole life: the UID is derived from the appointment id, so a
calendar replaces the event on a reschedule (METHOD:REQUEST, a higher SEQUENCE) and removes it on a
cancellation (METHOD:CANCEL, the same UID, a higher SEQUENCE again). Times carry the recipient's
zone (TZID, with its VTIMEZONE) so the invite reads in local time; DTSTAMP is UTC. A time that
falls in the hour repeated when clocks go back (02:30 in Paris on 25 October 2026 happens twice)
is written in UTC instead: RFC 5545 §3.3.5 reads an ambiguous local time as its *first*
occurrence, which would put a 02:30-after-the-change consultation an hour early.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Doktu//Consultations//EN"
UID_DOMAIN = "doktu.eu"
ORGANIZER = "no-reply@doktu.eu"
METHODS = ("REQUEST", "CANCEL")


def event_uid(appointment_id: uuid.UUID) -> str:
    """The same for every invite about one appointment, whatever happens to it."""
    return f"appointment-{appointment_id}@{UID_DOMAIN}"


@dataclass(frozen=True)
class Invite:
    appointment_id: uuid.UUID
    start: datetime  # aware
    end: datetime  # aware
    zone: str  # IANA zone of the recipient
    summary: str
    description: str
    url: str  # where to join
    attendee_email: str
    attendee_name: str
    sequence: int  # 0 when booked, +1 per reschedule; a cancellation is one more
    method: str = "REQUEST"
    stamp: datetime | None = None  # when the invite was made (UTC); defaults to now

    @property
    def filename(self) -> str:
        return "cancel.ics" if self.method == "CANCEL" else "invite.ics"

    @property
    def content_type(self) -> str:
        return f"text/calendar; method={self.method}; charset=UTF-8"


def is_ambiguous(local: datetime) -> bool:
    """True when this wall-clock time happens twice in its zone (the hour repeated in autumn)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def calendar_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """The recipient's local time, unless that wall time is ambiguous: then UTC (`…Z`)."""
    local = moment.astimezone(zone)
    return moment.astimezone(UTC) if is_ambiguous(local) else local


def build_ics(invite: Invite) -> str:
    """The invite as iCalendar text (CRLF line ends, as the RFC wants)."""
    if invite.method not in METHODS:
        raise ValueError(f"unsupported iTIP method {invite.method!r}")
    if invite.start.tzinfo is None or invite.end.tzinfo is None:
        raise ValueError("invite times must be aware")
    zone = ZoneInfo(invite.zone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", invite.method)

    event = Event()
    event.add("uid", event_uid(invite.appointment_id))
    event.add("sequence", invite.sequence)
    event.add("dtstamp", (invite.stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", calendar_time(invite.start, zone))
    event.add("dtend", calendar_time(invite.end, zone))
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    event.add("location", invite.url)
    event.add("url", invite.url)
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = vCalAddress(f"mailto:{ORGANIZER}")
    organizer.params["cn"] = vText("Doktu")
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{invite.attendee_email}")
    attendee.params["cn"] = vText(invite.attendee_name or invite.attendee_email)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    cal.add_component(event)
    # Only the rules around the consultation: a VTIMEZONE from 1970 to 2038 is ~3 kB of noise.
    day = invite.start.astimezone(UTC).date()
    cal.add_missing_timezones(first_date=day - timedelta(days=366), last_date=day + timedelta(days=366))
    return cal.to_ical().decode("utf-8")
