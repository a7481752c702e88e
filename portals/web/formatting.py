"""Amounts as every portal shows them."""

from __future__ import annotations


def money(cents: int, currency: str = "EUR") -> str:
    symbol = {"EUR": "€"}.get(currency, currency + " ")
    return f"{symbol}{cents // 100}" if cents % 100 == 0 else f"{symbol}{cents / 100:.2f}"
