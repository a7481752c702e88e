"""Finding people in a list by what a person types (the doctor portal's records and messages)."""

from __future__ import annotations

import unicodedata


def folded(text: str) -> str:
    """Case and accents ignored: "chloe" finds "Chloé"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def matches(query: str | None, *fields: str) -> bool:
    """Every word of `query` appears in one of `fields` (an empty query matches everything)."""
    haystack = folded(" ".join(fields))
    return all(word in haystack for word in folded(query or "").split())
