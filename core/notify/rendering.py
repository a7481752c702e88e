"""Message templates (Jinja, no Flask): plain text and HTML for every email, text for SMS, in the
recipient's language and time zone (SPEC §11).

Templates live in `core/notify/templates/<language>/`: `<name>.txt` (its first statement sets
`subject`), `<name>.html` (extends `<language>/_layout.html`) and, for SMS, `<name>.sms.txt`. Each
language (SPEC §20: en, fr, de) has its own folder, whole texts written by a translator rather than
pieced from catalog strings; a message translated as text only gets its HTML part built from that
text in the layout. There is one layout for every language (`templates/_layout.html`, its footer
through the catalogs): `<language>/_layout.html` is that file. Dates and money go through
`core.i18n` (Babel). A message missing in a language falls back to English; the test suite fails
if one is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup, escape

from core import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_LANGUAGE = "en"
DEFAULT_ZONE = "Europe/Paris"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def language_of(locale: str | None) -> str:
    """`fr-BE` → `fr`, `de` → `de` (SPEC §20: the languages of `core.i18n` that have templates);
    anything unknown → English."""
    language = i18n.language_of(locale)
    return language if (TEMPLATES / language).is_dir() else DEFAULT_LANGUAGE


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
    """`Tuesday 3 March 2026, 14:00` / `mardi 3 mars 2026 à 14:00` / `Dienstag, 3. März 2026, 14:00 Uhr`
    in the zone, 24 h clock (SPEC §3), Babel's words for the language (`core.i18n`)."""
    return i18n.format_datetime(moment, zone, language)


def format_money(cents: int, currency: str, language: str) -> str:
    """`€35.00` / `35,00 €` / `35,00 €`, thousands grouped, a refund's minus kept (`core.i18n`, Babel)."""
    return i18n.format_money(cents, currency, language)


LAYOUT = "_layout.html"


class _Loader(FileSystemLoader):
    """The templates' folder, where every `<language>/_layout.html` is the one shared layout: the
    messages keep naming their language's layout, and a language needs no copy of it."""

    def get_source(self, environment, template):
        folder, _, name = template.rpartition("/")
        return super().get_source(environment, LAYOUT if folder and name == LAYOUT else template)


@pass_context
def _translate(context, message: str, **variables) -> str:
    """`_()` in a message template: the catalogs' words in the message's language (`lang`)."""
    return i18n.translate(context["lang"], message, **variables)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=_Loader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.globals["_"] = _translate
    return env


def render(name: str, language: str, **values) -> Rendered:
    """The subject, text and HTML of message `name` in `language` (English if it has no such file)."""
    env = _environment()
    language = language_of(language)  # a raw `users.locale` ("fr-BE", None) reads as its language
    folder = language if (TEMPLATES / language / f"{name}.txt").is_file() else DEFAULT_LANGUAGE
    module = env.get_template(f"{folder}/{name}.txt").make_module({"lang": folder, **values})
    subject, text = " ".join(str(getattr(module, "subject", "")).split()), str(module).strip() + "\n"
    if (TEMPLATES / folder / f"{name}.html").is_file():
        html = env.get_template(f"{folder}/{name}.html").render(lang=folder, **values)
    else:
        html = _html_from_text(folder, subject, text)  # a message (or a translation) written as text only
    return Rendered(subject, text, html)


_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)]")


def _html_from_text(folder: str, subject: str, text: str) -> str:
    """The HTML part of a message translated as plain text only: its paragraphs in the language's
    layout, links made clickable, everything escaped."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        lines = [_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', str(escape(line)))
                 for line in block.strip().split("\n")]
        paragraphs.append(f"<p>{'<br>'.join(lines)}</p>")
    layout = _environment().from_string(
        '{% extends folder ~ "/_layout.html" %}{% block title %}{{ subject }}{% endblock %}'
        '{% block body %}{{ body }}{% endblock %}')
    body = Markup("\n".join(paragraphs))  # noqa: S704  (each line escaped above)
    return layout.render(folder=folder, lang=folder, subject=subject, body=body)


def render_sms(name: str, language: str, **values) -> str:
    language = language_of(language)
    folder = language if (TEMPLATES / language / f"{name}.sms.txt").is_file() else DEFAULT_LANGUAGE
    return " ".join(_environment().get_template(f"{folder}/{name}.sms.txt").render(lang=folder, **values).split())
