"""A doctor's weekly hours (SPEC §19): per weekday one or more local time ranges, replacing the
10:00–21:00 default for that doctor in the availability engine, the calendar and the KPIs.

A pure rule: plain values in, plain values out. Stored in `doctors.weekly_hours` (jsonb) as
`{"mon": [["09:00", "12:30"], ["14:00", "18:00"]], ..., "sun": []}`; a missing or empty weekday is
closed; NULL keeps the default. "24:00" as an end means midnight at the end of the day (so a range
never crosses midnight). Ranges are on whole or half hours (the calendar's cells), at least 30
minutes (one consultation), and never overlap on a day.
"""

from __future__ import annotations

import itertools
import re
from datetime import time, timedelta

from core.errors import ValidationFailed
from core.i18n import N_
from core.scheduling.engine import DEFAULT_TEMPLATE, Range, WorkingTemplate

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Catalog keys: pages show them translated (`_(label)`).
WEEKDAY_LABELS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                  N_("Sunday"))
MAX_RANGES_PER_DAY = 4
MIN_RANGE_MINUTES = 30
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")

WeeklyHours = tuple[tuple[tuple[int, int], ...], ...]  # per weekday, (start, end) in minutes after midnight


def _minutes(value: object, label: str) -> int:
    match = _CLOCK.match(str(value or "").strip())
    if not match:
        raise ValidationFailed(N_("%(day)s: write times as HH:MM, e.g. 09:00."), params={"day": label})
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if total > 24 * 60:
        raise ValidationFailed(N_("%(day)s: a time is at most 24:00."), params={"day": label})
    if minutes % 30:  # the calendar's cells and the copy-on-write slots are half hours
        raise ValidationFailed(N_("%(day)s: use whole or half hours (:00 or :30)."), params={"day": label})
    return total


def _clock(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def parse_weekly_hours(raw: object) -> WeeklyHours:
    """Validate the stored or submitted form. Errors name the weekday so a form can say where."""
    if not isinstance(raw, dict):
        raise ValidationFailed(N_("Weekly hours must map weekdays (mon … sun) to lists of ranges."))
    unknown = set(raw) - set(WEEKDAYS)
    if unknown:
        raise ValidationFailed(N_("Unknown weekday %(day)s: use mon, tue, wed, thu, fri, sat, sun."),
                               params={"day": repr(sorted(unknown)[0])})
    week = []
    for key, label in zip(WEEKDAYS, WEEKDAY_LABELS, strict=True):
        ranges = raw.get(key) or []
        if not isinstance(ranges, list) or len(ranges) > MAX_RANGES_PER_DAY:
            raise ValidationFailed(N_("%(day)s: at most %(count)d ranges."),
                                   params={"day": label, "count": MAX_RANGES_PER_DAY})
        day = []
        for entry in ranges:
            if not isinstance(entry, list | tuple) or len(entry) != 2:
                raise ValidationFailed(N_("%(day)s: each range is a start and an end."), params={"day": label})
            start, end = _minutes(entry[0], label), _minutes(entry[1], label)
            if start >= 24 * 60:
                raise ValidationFailed(N_("%(day)s: a range starts before 24:00."), params={"day": label})
            if end - start < MIN_RANGE_MINUTES:
                raise ValidationFailed(N_("%(day)s: %(range)s must end at least %(minutes)d minutes after it starts."),
                                       params={"day": label, "range": f"{_clock(start)}–{_clock(end)}",
                                               "minutes": MIN_RANGE_MINUTES})
            day.append((start, end))
        day.sort()
        for (_, end_a), (start_b, end_b) in itertools.pairwise(day):
            if start_b < end_a:
                raise ValidationFailed(N_("%(day)s: %(range)s overlaps another range."),
                                       params={"day": label, "range": f"{_clock(start_b)}–{_clock(end_b)}"})
        week.append(tuple(day))
    return tuple(week)


def to_json(week: WeeklyHours) -> dict[str, list[list[str]]]:
    return {key: [[_clock(s), _clock(e)] for s, e in day] for key, day in zip(WEEKDAYS, week, strict=True)}


def _time(total: int) -> time:
    return time(0) if total == 24 * 60 else time(total // 60, total % 60)


def template_for(raw: object | None) -> WorkingTemplate:
    """The engine's template for a doctor: their weekly hours, or the default when unset.
    A stored value that no longer validates falls back to the default rather than closing the doctor."""
    if raw is None:
        return DEFAULT_TEMPLATE
    try:
        week = parse_weekly_hours(raw)
    except ValidationFailed:
        return DEFAULT_TEMPLATE
    weekly: tuple[tuple[Range, ...], ...] = tuple(
        tuple((_time(s), _time(e)) for s, e in day) for day in week)
    return WorkingTemplate(weekly=weekly)


def week_of(raw: object | None) -> WeeklyHours:
    """The weekly hours a doctor works (the default when unset or unreadable), for display."""
    if raw is None:
        return default_week()
    try:
        return parse_weekly_hours(raw)
    except ValidationFailed:
        return default_week()


def default_week() -> WeeklyHours:
    """The default as weekly hours (10:00–21:00 every day): what the editor starts from."""
    start = DEFAULT_TEMPLATE.day_start.hour * 60 + DEFAULT_TEMPLATE.day_start.minute
    end = DEFAULT_TEMPLATE.day_end.hour * 60 + DEFAULT_TEMPLATE.day_end.minute
    return tuple(((start, end),) for _ in WEEKDAYS)


def minutes_per_weekday(week: WeeklyHours) -> tuple[int, ...]:
    """Wall-clock minutes open per weekday (the KPIs' offered minutes on a template day)."""
    return tuple(sum(e - s for s, e in day) for day in week)


def describe(week: WeeklyHours) -> list[tuple[str, str]]:
    """Human lines for a public card: ("Monday", "09:00–12:30, 14:00–18:00") or "Closed"."""
    return [(label, ", ".join(f"{_clock(s)}–{_clock(e)}" for s, e in day) or N_("Closed"))
            for label, day in zip(WEEKDAY_LABELS, week, strict=True)]


def slot_length() -> timedelta:
    return DEFAULT_TEMPLATE.duration


def parse_day_text(text: str | None, label: str) -> list[list[str]]:
    """A form's line for one weekday: "09:00-12:30, 14:00-18:00" (empty: closed)."""
    ranges = []
    for part in (text or "").replace("–", "-").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = [p.strip() for p in part.split("-")]
        if len(pieces) != 2:
            raise ValidationFailed(N_("%(day)s: write ranges as 09:00-12:30, separated by commas."),
                                   params={"day": label})
        ranges.append(pieces)
    return ranges


def day_text(week: WeeklyHours, weekday: int) -> str:
    return ", ".join(f"{_clock(s)}-{_clock(e)}" for s, e in week[weekday])
