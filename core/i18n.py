"""Languages (SPEC §20): the gettext catalogs and Babel formatting, without Flask.

One home for both: the web (`portals/i18n.py` selects the locale of a request and hands it to these
functions), emails, SMS and PDFs rendered by `core` and the worker (which pass the recipient's
locale). Catalogs are `core/translations/<lang>/LC_MESSAGES/messages.po`, read straight from the
`.po` (compiled in memory, cached per process), so there is no build step and no stale `.mo`.
English is the source language: its messages are the msgids themselves.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

CATALOGS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "fr", "de")  # the order of the language switch


def language_of(locale: str | None) -> str:
    """`fr-BE`, `fr_FR`, `FR` → `fr`; anything we do not speak → English."""
    language = (locale or "").replace("_", "-").split("-")[0].strip().lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def negotiate(accept_language: str | None) -> str | None:
    """The best of our languages for an `Accept-Language` header (q-values honoured), or None."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.replace("_", "-").split("-")[0].strip().lower()
        if language in LANGUAGES and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of a language (English: the identity)."""
    language = language_of(language)
    path = CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translate(language: str, message: str, **variables) -> str:
    """`message` in `language`, `%(name)s` placeholders filled from `variables` (core code, which has
    no request: it says whose language). Extracted by `doktu i18n update` (keyword `translate:2`)."""
    text = translations(language).gettext(message)
    return text % variables if variables else text


def translate_refusal(language: str, error) -> str:
    """A domain error's message in `language`: its template (an English catalog msgid) translated
    with its params filled in — a string param that is itself a catalog label (a weekday, a status)
    translated too — or its `parts` (several rules refused at once) translated one by one and
    joined. `error.message` stays English for the API's details and the logs."""
    if getattr(error, "parts", None):
        return " ".join(translate(language, part, **values) for part, values in error.parts)
    template = getattr(error, "template", None) or getattr(error, "message", None) or str(error)
    params = getattr(error, "params", None) or {}
    return translate(language, template, **{
        key: translate(language, value) if isinstance(value, str) and value else value
        for key, value in params.items()})


def translate_plural(language: str, singular: str, plural: str, count: int, **variables) -> str:
    """`%(num)d item` / `%(num)d items` for `count` (keyword `translate_plural:2,3`)."""
    text = translations(language).ngettext(singular, plural, count)
    return text % {"num": count, **variables}


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (a constant, a table of labels)."""
    return message


# British conventions for English: a European product writes "Thursday 3 December 2026".
BABEL_LOCALES = {"en": "en_GB", "fr": "fr_FR", "de": "de_DE"}


# Babel's en_GB "full" date has a comma ("Tuesday, 3 March 2026"); the product writes it without.
_FULL_DATE = {"en": "EEEE d MMMM y"}


def _date_pattern(language: str, pattern: str) -> str:
    return _FULL_DATE.get(language_of(language), pattern) if pattern == "full" else pattern


def babel_locale(language: str) -> Locale:
    return _babel_locale(language_of(language))


@cache
def _babel_locale(language: str) -> Locale:
    """One Locale per language and process: a page formats dozens of dates and numbers, and
    parsing the identifier each time was a visible part of rendering `/` (issue 21)."""
    return Locale.parse(BABEL_LOCALES[language])


def format_money(cents: int, currency: str, language: str, *, short_whole: bool = False) -> str:
    """`€35.00` in English, `35,00 €` in French, `35,00 €` in German; thousands grouped (`€1,234.50`,
    `1 234,50 €`, `1.234,50 €`); negative amounts keep their sign (`-€12.00`, `-12,00 €`).
    `short_whole`: a whole amount in English drops its cents (`€35`), as English price lists write
    it (the web pages); French and German always write the cents (`35,00 €`)."""
    amount = Decimal(cents) / 100
    locale = babel_locale(language)
    if short_whole and cents % 100 == 0 and language_of(language) == "en":
        return numbers.format_currency(amount, currency.upper(), locale=locale, currency_digits=False,
                                       format="¤#,##0")
    return numbers.format_currency(amount, currency.upper(), locale=locale)


def format_number(value: int | float | Decimal, language: str) -> str:
    """`1,234` / `1 234` / `1.234`."""
    return numbers.format_decimal(value, locale=babel_locale(language))


def format_number_pattern(value: int | float | Decimal, language: str, pattern: str) -> str:
    """A number with a fixed pattern (`0.0`: one decimal always), the locale's decimal sign."""
    return numbers.format_decimal(value, format=pattern, locale=babel_locale(language))


def format_percent(value: float, language: str) -> str:
    return numbers.format_percent(value, locale=babel_locale(language))


def format_datetime(moment: datetime, zone: tzinfo, language: str, pattern: str = "full_datetime") -> str:
    """A moment in the viewer's zone: `Thursday 3 December 2026, 09:00` / `jeudi 3 décembre 2026 à 09:00`.
    24 h clock in every language we speak (SPEC §3)."""
    local = moment.astimezone(zone)
    if pattern == "full_datetime":
        return _join(language, format_date(local.date(), language),
                     local.strftime("%H:%M"))
    return dates.format_datetime(local, pattern, locale=babel_locale(language))


def format_moment(moment: datetime, zone: tzinfo, language: str, *, with_zone: bool = True) -> str:
    """`Tuesday 3 March 2026 at 14:45 (Europe/Paris)` / `mardi 3 mars 2026 à 14:45 (Europe/Paris)` /
    `Dienstag, 3. März 2026 um 14:45 (Europe/Paris)`: a sentence-ready moment in the viewer's zone."""
    local = moment.astimezone(zone)
    day_text = format_date(local.date(), language)
    clock = local.strftime("%H:%M")
    name = getattr(zone, "key", None) or local.tzname() or ""
    if with_zone and name:
        return translate(language, "%(day)s at %(time)s (%(zone)s)", day=day_text, time=clock, zone=name)
    return translate(language, "%(day)s at %(time)s", day=day_text, time=clock)


def format_date(day: date, language: str, pattern: str = "full") -> str:
    """`Thursday 3 December 2026` / `jeudi 3 décembre 2026` / `Donnerstag, 3. Dezember 2026`."""
    return dates.format_date(day, _date_pattern(language, pattern), locale=babel_locale(language))


def format_time(moment: time | datetime, language: str) -> str:
    """Always 24 h (`09:00`); a datetime should already be in the viewer's zone."""
    return moment.strftime("%H:%M")


@lru_cache(maxsize=256)
def language_name(code: str) -> str:
    """A language written out in itself: `de` → `Deutsch`, `fr` → `Français` (remembered: the
    directory writes the same few names on every page)."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.split("-")[0]) or code
    except (ValueError, TypeError):
        return code
    return name[:1].upper() + name[1:]


def _join(language: str, day_text: str, clock: str) -> str:
    return {"fr": f"{day_text} à {clock}", "de": f"{day_text}, {clock} Uhr"}.get(language_of(language),
                                                                            f"{day_text}, {clock}")
