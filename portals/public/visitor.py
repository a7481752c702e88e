"""The visitor's time zone: times are shown in the viewer's own zone, 24 h (SPEC §3).

The browser reports its zone in the `doktu_tz` cookie (set by site.js); until it has, pages use
Europe/Paris and site.js re-labels the <time> elements in place, so the first paint needs no script.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask import request

DEFAULT_ZONE = "Europe/Paris"
COOKIE = "doktu_tz"


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def visitor_zone() -> ZoneInfo:
    name = request.cookies.get(COOKIE, "")
    return ZoneInfo(name if name in _known_zones() else DEFAULT_ZONE)


def clock_time(moment: datetime) -> str:
    """14:45 in the visitor's zone."""
    return moment.astimezone(visitor_zone()).strftime("%H:%M")


def day_label(moment: datetime) -> str:
    """Tue in the visitor's zone: pills name the weekday; their labels give the full date."""
    return f"{moment.astimezone(visitor_zone()):%a}"


def long_moment(moment: datetime) -> str:
    """Tuesday 3 March 2026 at 14:45 (Europe/Paris), for summaries and screen readers."""
    local = moment.astimezone(visitor_zone())
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} ({local.tzinfo.key})"
