"""The admin console's date filter (SPEC §9): today, yesterday, week, month — in Europe/Paris days.

Pure values, no I/O. A period is a run of whole local days; its bounds are local midnights turned
into UTC instants, so a period holding the spring change day lasts 23 hours per that day and one
holding the autumn change day 25 (midnight itself always exists in Paris: the clocks change at
02:00 and 03:00). "The previous period of the same length" is the run of the same number of local
days just before it, so a 23-hour Sunday is compared with the 24-hour Saturday before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
RANGE_NAMES = ("today", "yesterday", "week", "month")
RANGE_LABELS = {"today": "Today", "yesterday": "Yesterday", "week": "Last 7 days", "month": "Last 30 days"}
# (days back from today to the first day, number of days)
_SHAPES = {"today": (0, 1), "yesterday": (1, 1), "week": (6, 7), "month": (29, 30)}


@dataclass(frozen=True)
class Period:
    """`days` whole local days from `first_day`; `start`/`end` are the UTC instants [start, end)."""

    name: str
    first_day: date
    days: int
    tz: ZoneInfo = PARIS

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.tz)

    @property
    def end(self) -> datetime:
        return local_midnight(self.first_day + timedelta(days=self.days), self.tz)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def label(self) -> str:
        return RANGE_LABELS.get(self.name, self.name)

    def previous(self) -> Period:
        """The same number of local days just before this period."""
        return Period(f"previous {self.name}", self.first_day - timedelta(days=self.days), self.days, self.tz)

    def day_list(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]

    def describe(self) -> str:
        """'Mon 30 Mar 2026' or 'Tue 24 Mar – Mon 30 Mar 2026' (local dates, both included)."""
        last = self.last_day
        if self.days == 1:
            return f"{self.first_day:%a %-d %b %Y}"
        first = f"{self.first_day:%a %-d %b}" if self.first_day.year == last.year else f"{self.first_day:%a %-d %b %Y}"
        return f"{first} – {last:%a %-d %b %Y}"


def local_midnight(day: date, tz: ZoneInfo = PARIS) -> datetime:
    """00:00 local on `day`, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def period_for(name: str, now: datetime, tz: ZoneInfo = PARIS) -> Period:
    """The period called `name` as seen at `now` (an aware instant): today, yesterday, the last
    7 days or the last 30 days, today included. The current day counts whole (its end is the next
    local midnight), so "today" includes the consultations still to come this evening."""
    if name not in _SHAPES:
        raise ValueError(f"unknown range {name!r}; expected one of {', '.join(RANGE_NAMES)}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    back, days = _SHAPES[name]
    return Period(name, today - timedelta(days=back), days, tz)
