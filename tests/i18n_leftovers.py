"""English left in a translated page (SPEC §20): a reusable check for Dash component trees.

`leftovers(tree, language)` walks a Dash layout or a callback's output — component objects, or the
JSON Dash sends (`/_dash-layout`, `_dash-update-component`) — and returns every visible text and
every `aria-label`, `title`, `alt`, `placeholder` and option label that is an English catalog
message whose translation in `language` differs: the string was shown without going through
`_()`. A message with placeholders (`Join live: consultation with %(name)s at %(time)s`) is
matched as a pattern when its fixed words hold at least one real word, so a sentence built from
an untranslated template is caught too.

    from tests.i18n_leftovers import leftovers
    assert leftovers(doctor_layout(), "fr") == []
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from core import i18n

# Component properties a person reads or hears, besides `children`.
TEXT_PROPS = ("aria-label", "title", "alt", "placeholder", "label", "aria-description", "summary")
# Parts of the frame that name each language in itself on purpose (the language switch).
SKIP_IDS = re.compile(r"^dk-lang-")
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


@cache
def _english_messages(language: str) -> tuple[frozenset[str], tuple[tuple[re.Pattern, str], ...]]:
    """(exact msgids, compiled patterns of msgids with placeholders) whose `language` text differs."""
    catalog = i18n.translations(language)
    exact, patterns = set(), []
    for msgid in catalog._catalog:
        if isinstance(msgid, tuple):  # a plural form: (msgid, index)
            msgid = msgid[0]
        if not msgid or catalog.gettext(msgid) == msgid:
            continue
        if _PLACEHOLDER.search(msgid):
            fixed = _PLACEHOLDER.sub(" ", msgid)
            if re.search(r"[A-Za-z]{3,}", fixed):
                parts = [re.escape(p) for p in _PLACEHOLDER.split(msgid)]
                patterns.append((re.compile("^" + "(.+?)".join(parts) + "$", re.S), msgid))
        else:
            exact.add(msgid.strip())
    return frozenset(exact), tuple(patterns)


def _node(value) -> tuple[dict | None, str | None]:
    """(props, type name) of a Dash component or of its JSON form; (None, None) for anything else."""
    if isinstance(value, dict) and "props" in value and "type" in value:
        return value["props"] or {}, value["type"]
    if hasattr(value, "to_plotly_json") and hasattr(value, "available_properties"):
        plain = value.to_plotly_json()  # the props that are set; children stay component objects
        return plain.get("props") or {}, plain.get("type")
    return None, None


def texts(tree, where: str = "") -> Iterator[tuple[str, str]]:
    """Every (where, text) a person reads or hears in `tree`."""
    if tree is None or isinstance(tree, bool | int | float):
        return
    if isinstance(tree, str):
        if tree.strip():
            yield where or "text", tree
        return
    if isinstance(tree, list | tuple):
        for index, item in enumerate(tree):
            yield from texts(item, f"{where}[{index}]")
        return
    props, kind = _node(tree)
    if props is None:
        if isinstance(tree, dict):  # a callback's output dict, an option {"label", "value"}
            for key, value in tree.items():
                if key in ("label", "children") or isinstance(value, list | dict):
                    yield from texts(value, f"{where}.{key}")
        return
    ident = props.get("id")
    if isinstance(ident, str) and SKIP_IDS.match(ident):
        return
    here = f"{where}/{kind}" + (f"#{ident}" if isinstance(ident, str) else "")
    for prop in TEXT_PROPS:
        value = props.get(prop)
        if isinstance(value, str) and value.strip():
            yield f"{here}@{prop}", value
        elif prop == "label" and value is not None:
            yield from texts(value, f"{here}@label")
    for prop in ("children", "options"):
        if prop in props:
            yield from texts(props[prop], f"{here}.{prop}")


def leftovers(tree, language: str) -> list[tuple[str, str]]:
    """The texts of `tree` that are English catalog messages translated differently in `language`."""
    exact, patterns = _english_messages(language)
    found = []
    for where, text in texts(tree):
        clean = " ".join(text.split())
        if clean in exact or text.strip() in exact:
            found.append((where, text))
            continue
        for pattern, msgid in patterns:
            if pattern.match(clean):
                found.append((where, f"{text}  ← {msgid!r}"))
                break
    return found
