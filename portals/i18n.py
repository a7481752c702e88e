"""Languages on the web (SPEC §20): Flask-Babel wired to the catalogs of `core.i18n`, the locale of
each request, and the formatting helpers Jinja and the Dash portals use.

The locale of a request: the signed-in user's setting → the `doktu_lang` cookie → the browser's
`Accept-Language` → English. Flask, Jinja (`{{ _('Text') }}`, `{{ _('Hello %(name)s', name=n) }}`) and
Dash callbacks (which run inside a Flask request) all read it through `current_language()`.
Dash layouts must be built per request (a function), or their strings freeze in the language of
the first visitor.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from flask import Flask, has_request_context, request
from flask_babel import Babel, Domain, get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from core import i18n
from portals.js_strings import js_strings

LANGUAGE_COOKIE = "doktu_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

__all__ = [
    "LANGUAGE_COOKIE",
    "_",
    "current_language",
    "day",
    "init_i18n",
    "language_name",
    "lazy_gettext",
    "money",
    "ngettext",
    "number",
    "when",
]


class CatalogDomain(Domain):
    """Flask-Babel's domain, reading our catalogs (`core.i18n`) instead of compiled `.mo` files."""

    def get_translations(self):
        return i18n.translations(current_language())


def select_language() -> str:
    user_language = getattr(current_user, "locale", None) if current_user else None
    if user_language:
        return i18n.language_of(user_language)
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie and i18n.language_of(cookie) == cookie:
        return cookie
    return i18n.negotiate(request.headers.get("Accept-Language")) or i18n.DEFAULT_LANGUAGE


def current_language() -> str:
    """`en`, `fr` or `de` for this request; English outside one."""
    if not has_request_context():
        return i18n.DEFAULT_LANGUAGE
    locale = get_locale()
    return i18n.language_of(locale.language if locale else None)


def money(cents: int, currency: str = "EUR") -> str:
    """The web's money: `€35` / `35,00 €` (a whole amount drops its cents in English only)."""
    return i18n.format_money(cents, currency, current_language(), short_whole=True)


def number(value) -> str:
    return i18n.format_number(value, current_language())


def when(moment: datetime, zone: tzinfo) -> str:
    """A moment in the viewer's zone, in words and on a 24 h clock."""
    return i18n.format_datetime(moment, zone, current_language())


def day(value: date, pattern: str = "full") -> str:
    return i18n.format_date(value, current_language(), pattern)


def one_decimal(value) -> str:
    """`4.8` / `4,8`: a mean rating, always with one decimal (`5.0`, not `5`)."""
    return i18n.format_number_pattern(value, current_language(), "0.0")


def language_name(code: str) -> str:
    return i18n.language_name(code)


_DAY_NAME = {"en": "EEEE d MMMM", "fr": "EEEE d MMMM", "de": "EEEE, d. MMMM"}


def day_name(value: date) -> str:
    """`Monday 2 March` / `lundi 2 mars` / `Montag, 2. März`: a day in a strip or a list, no year."""
    language = current_language()
    return i18n.format_date(value, language, _DAY_NAME[language])


def text_lang(document) -> Markup:
    """` lang="en"` on a text shown in another language than the page's (a content page without a
    translation, SPEC §20), so screen readers read it with the right voice; nothing otherwise."""
    language = getattr(document, "language", None)
    if not language or language == current_language():
        return Markup("")
    return Markup(' lang="%s"') % language


def day_short(value: date) -> str:
    """`Mon` / `lun.` / `Mo.`."""
    return i18n.format_date(value, current_language(), "EEE")


def init_i18n(app: Flask) -> None:
    babel = Babel(app, locale_selector=select_language)
    babel.domain_instance = CatalogDomain()
    app.jinja_env.globals.update(current_language=current_language, languages=i18n.LANGUAGES,
                                 language_name=language_name, day_name=day_name, day_short=day_short,
                                 number=number, one_decimal=one_decimal, day=day, Markup=Markup,
                                 text_lang=text_lang, js_strings=js_strings,
                                 refusal_text=refusal_text)
    app.jinja_env.filters["language_name"] = language_name


def refusal_text(error) -> str:
    """A DomainError's message in the viewer's language (`core.i18n.translate_refusal`)."""
    return i18n.translate_refusal(current_language(), error)

