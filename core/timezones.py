"""The time zones people may choose, and how a zone is labelled — one list and one label for every
form (patient settings, doctor onboarding and settings).

The list is the tz database's `zone.tab` (one entry per place that keeps its own clock, by
country), plus UTC: no deprecated aliases (Africa/Asmera, Asia/Calcutta, US/Eastern, Etc/GMT+5…),
which `zoneinfo.available_timezones()` also returns. Zones a browser reports are read more
leniently (`is_known`): an alias still names a real clock to show times in.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

UTC = "UTC"
# Offered first: where most of our patients and doctors live (SPEC §0, Europe).
COMMON_EUROPEAN_ZONES = (
    "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Brussels",
    "Europe/Amsterdam", "Europe/Luxembourg", "Europe/Berlin", "Europe/Zurich", "Europe/Vienna",
    "Europe/Madrid", "Europe/Rome", "Europe/Copenhagen", "Europe/Stockholm", "Europe/Oslo",
    "Europe/Helsinki", "Europe/Warsaw", "Europe/Prague", "Europe/Budapest", "Europe/Athens",
    "Europe/Bucharest", "Europe/Sofia", "Atlantic/Canary",
)
_SYSTEM_ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")


def _zone_tab() -> str:
    """zone.tab from the `tzdata` package (the same data zoneinfo falls back to), else the system's."""
    try:
        return resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return _SYSTEM_ZONE_TAB.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def selectable_zones() -> tuple[str, ...]:
    """Every zone a person may choose, A–Z, UTC last: canonical names this system can load."""
    known = available_timezones()
    names = {line.split("\t")[2] for line in _zone_tab().splitlines()
             if line and not line.startswith("#") and len(line.split("\t")) >= 3}
    return (*sorted(z for z in names if z in known), UTC)


@lru_cache(maxsize=1)
def zone_groups() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the common European zones, every other selectable zone) for a list with two groups."""
    zones = selectable_zones()
    common = tuple(z for z in COMMON_EUROPEAN_ZONES if z in zones)
    return common, tuple(z for z in zones if z not in common)


def is_selectable(zone: str | None) -> bool:
    return zone in _selectable_set()


@lru_cache(maxsize=1)
def _selectable_set() -> frozenset[str]:
    return frozenset(selectable_zones())


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_known(zone: str | None) -> bool:
    """A zone this system can load, aliases included (what a browser reports)."""
    return zone in _known()


def utc_offset_label(zone: str, at: datetime) -> str:
    """UTC+01:00 — the zone's offset at `at` (DST included), to tell zones apart in a list."""
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_label(zone: str, at: datetime) -> str:
    """How a zone reads in every list: "America/New York (UTC−05:00)"."""
    return f"{zone.replace('_', ' ')} ({utc_offset_label(zone, at)})"


def zone_options(zones: tuple[str, ...], at: datetime) -> list[tuple[str, str]]:
    """(value, label) pairs for a select."""
    return [(z, zone_label(z, at)) for z in zones]
