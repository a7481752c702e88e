"""The catalogs' completeness (SPEC §20): every message the code marks for translation exists, is
translated (not empty, not fuzzy) and keeps its placeholders in every language. Used by
`doktu i18n check` and the test suite, so CI fails on a missing translation."""

from __future__ import annotations

import re
from configparser import ConfigParser
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None,
            "translate": (2,), "translate_plural": (2, 3)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")


def _method_map() -> list[tuple[str, str]]:
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    return [(section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip()) for section in config.sections()]


def code_messages() -> set[str]:
    """Every msgid (plural forms: the singular) the code marks."""
    found: set[str] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), _method_map(), keywords=KEYWORDS, comment_tags=()):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def missing_translations() -> dict[str, list[str]]:
    """{language: [problem, ...]} for each non-English catalog; empty lists when all is well."""
    messages = code_messages()
    report: dict[str, list[str]] = {}
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT_LANGUAGE:
            continue
        path = i18n.CATALOGS / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        problems: list[str] = []
        catalog = {}
        if path.is_file():
            with path.open("rb") as po:
                catalog = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in read_po(po) if m.id}
        for message in sorted(messages):
            entry = catalog.get(message)
            if entry is None:
                problems.append(f"missing: {message}")
                continue
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if entry.fuzzy or not all(strings):
                problems.append(f"untranslated: {message}")
            elif any(_placeholders(s) != _placeholders(message) for s in strings):
                problems.append(f"placeholders differ: {message}")
        report[language] = problems
    return report
