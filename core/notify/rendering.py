"""Message templates (Jinja, no Flask): plain text and HTML for every email, text for SMS, in the
recipient's language and time zone (SPEC §11).

Templates live in `core/notify/templates/<language>/`: `<name>.txt` (its first statement sets
`subject`), `<name>.html` (extends `_layout.html`) and, for SMS, `<name>.sms.txt`. A language is
added by adding its folder and a `DATES` entry; a recipient whose language has no folder reads
English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_LANGUAGE = "en"
DEFAULT_ZONE = "Europe/Paris"


@dataclass(frozen=True)
class DateWords:
    days: tuple[str, ...]  # Monday first
    months: tuple[str, ...]  # January first
    pattern: str  # {day} {date} {month} {year} {time}


DATES = {
    "en": DateWords(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December"),
        "{day} {date} {month} {year}, {time}"),
    "fr": DateWords(
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
         "novembre", "décembre"),
        "{day} {date} {month} {year} à {time}"),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def language_of(locale: str | None) -> str:
    """`fr-BE` → `fr` when there are French templates; anything unknown → English."""
    language = (locale or "").replace("_", "-").split("-")[0].strip().lower()
    return language if language in DATES and (TEMPLATES / language).is_dir() else DEFAULT_LANGUAGE


def zone_of(*candidates: str | None) -> ZoneInfo:
    """The first valid IANA zone among the candidates (the recipient's choice, then the doctor's…),
    else Europe/Paris."""
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo(DEFAULT_ZONE)


def format_when(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """`Tuesday 3 March 2026, 14:00` in the zone, 24 h clock (SPEC §3), in the language's words."""
    local = moment.astimezone(zone)
    words = DATES.get(language, DATES[DEFAULT_LANGUAGE])
    return words.pattern.format(day=words.days[local.weekday()], date=local.day,
                                month=words.months[local.month - 1], year=local.year,
                                time=local.strftime("%H:%M"))


def format_money(cents: int, currency: str, language: str) -> str:
    """`€35.00` in English, `35,00 €` in French (integer cents in, SPEC §12)."""
    symbol = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF "}.get(currency, f"{currency} ")
    whole, part = divmod(abs(cents), 100)
    if language == "fr":
        return f"{whole:,}".replace(",", "\u202f") + f",{part:02d} {symbol.strip()}"
    return f"{symbol}{whole:,}.{part:02d}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render(name: str, language: str, **values) -> Rendered:
    """The subject, text and HTML of message `name` in `language` (English if it has no such file)."""
    env = _environment()
    folder = language if (TEMPLATES / language / f"{name}.txt").is_file() else DEFAULT_LANGUAGE
    module = env.get_template(f"{folder}/{name}.txt").make_module({"lang": folder, **values})
    html = env.get_template(f"{folder}/{name}.html").render(lang=folder, **values) \
        if (TEMPLATES / folder / f"{name}.html").is_file() else None
    return Rendered(" ".join(str(getattr(module, "subject", "")).split()), str(module).strip() + "\n", html)


def render_sms(name: str, language: str, **values) -> str:
    folder = language if (TEMPLATES / language / f"{name}.sms.txt").is_file() else DEFAULT_LANGUAGE
    return " ".join(_environment().get_template(f"{folder}/{name}.sms.txt").render(lang=folder, **values).split())
