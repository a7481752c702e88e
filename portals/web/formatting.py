"""Amounts as every portal shows them, in the visitor's language (SPEC §20, Babel)."""

from __future__ import annotations

from core import i18n
from portals.i18n import current_language


def money(cents: int, currency: str = "EUR") -> str:
    """`€35` / `€35.50` in English, `35,00 €` in French and German."""
    return i18n.format_money(cents, currency, current_language(), short_whole=True)
