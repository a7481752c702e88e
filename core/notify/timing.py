"""When a reminder is due (SPEC §11: 24 hours and 1 hour before the start): a pure rule.

A reminder's window opens `lead` before the start and closes when the next, shorter one opens
(the 24 h reminder gives way to the 1 h one; the 1 h one ends at the start). The sweep runs every
5 minutes and sends the reminder of the window the appointment is in — once, by its idempotency
key — so a late or missed sweep still reminds while the window is open. An appointment that got its
time inside a window (booked or moved 3 hours ahead) is not reminded for that window: the
confirmation or the reschedule notice just told the patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# (name, lead), longest first
REMINDERS: tuple[tuple[str, timedelta], ...] = (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))
LONGEST_LEAD = REMINDERS[0][1]


def due_reminder(start: datetime, now: datetime, scheduled_at: datetime | None) -> str | None:
    """The reminder to send now for a consultation starting at `start` whose time was set at
    `scheduled_at` (when it was paid or last moved; None if unknown = long before), or None."""
    for index, (name, lead) in enumerate(REMINDERS):
        opens = start - lead
        closes = start - REMINDERS[index + 1][1] if index + 1 < len(REMINDERS) else start
        if opens <= now < closes:
            return name if scheduled_at is None or scheduled_at <= opens else None
    return None
