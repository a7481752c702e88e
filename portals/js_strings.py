"""The texts a page's scripts show, in the page's language (SPEC §20), through the same gettext
catalogs as everything else — no second catalog format.

A script writes its texts as English messages wrapped in `_("…")` (placeholders `%(name)s`), which
`doktu i18n update` extracts from `portals/static/js/` (babel.cfg's javascript section). The page
that loads the script embeds their translations with `{{ js_strings('js/device-test.js') }}`: a
`<script type="application/json" data-dk-i18n>` mapping each English message to its translation,
which the script reads (falling back to the English it was written with). A file's messages are
found with Babel's own JavaScript extractor, so what is embedded is exactly what is extracted.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from babel.messages.extract import extract
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

STATIC = Path(__file__).resolve().parent / "static"


@lru_cache(maxsize=32)
def script_messages(path: str) -> tuple[str, ...]:
    """The English messages of one script under portals/static (e.g. `js/device-test.js`), in order."""
    file = (STATIC / path).resolve()
    if STATIC not in file.parents or file.suffix != ".js":
        raise ValueError(f"not a script of portals/static: {path}")
    with file.open("rb") as source:
        # Babel's `extract` applies the keyword's spec (the first argument is the message, whatever
        # follows it), as `doktu i18n update` does.
        found = [message for _line, message, _comments, _context in extract("javascript", source, {"_": None})]
    return tuple(dict.fromkeys(m for m in found if isinstance(m, str)))


def translations_for(language: str, *paths: str) -> dict[str, str]:
    """English message → its translation in `language`, for the messages of the scripts `paths`
    (only those whose translation differs: the scripts already hold the English)."""
    from core import i18n

    catalog = i18n.translations(language)
    table = {}
    for path in paths:
        for message in script_messages(path):
            translated = catalog.gettext(message)
            if translated != message:
                table[message] = translated
    return table


def js_strings(*paths: str) -> Markup:
    """The `<script type="application/json" data-dk-i18n>` of the scripts `paths`, in the request's
    language; nothing in English."""
    from portals.i18n import current_language

    table = translations_for(current_language(), *paths)
    if not table:
        return Markup("")
    body = htmlsafe_json_dumps(table, dumps=lambda value, **_: json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                                          separators=(",", ":")))
    return Markup('<script type="application/json" data-dk-i18n>') + body + Markup("</script>")
