"""The password policy (SPEC §6; OWASP ASVS 2.1.7): at least 12 characters with an upper- and a
lower-case letter, a digit and a symbol, and not guessable — "Password123!" passes the class rule
but not the zxcvbn strength estimate (score ≥ 3 of 4)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from zxcvbn import zxcvbn

from core.i18n import N_

MIN_LENGTH = 12
MAX_BYTES = 72  # bcrypt's limit: longer passwords are refused, never silently cut
MIN_STRENGTH = 3


@dataclass(frozen=True)
class PolicyResult:
    problems: list[str]
    score: int  # zxcvbn 0–4, for the strength meter
    parts: list[tuple[str, dict]] = field(default_factory=list)  # (catalog message, values) per problem

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_symbol(ch: str) -> bool:
    return (not ch.isalnum() and not ch.isspace()) or unicodedata.category(ch).startswith(("P", "S"))


RULES = ("length", "upper", "lower", "digit", "symbol")


@dataclass(frozen=True)
class Strength:
    """What the sign-up meter shows, judged exactly as `check_password` judges (issue 24): which
    of the five rules are met, whether zxcvbn finds the password guessable, and a verdict."""

    rules: dict[str, bool]
    guessable: bool
    score: int
    empty: bool = False

    @property
    def verdict(self) -> str:
        """`empty`, `too_weak` (0–1 rules), `weak` (2–3), `fair` (4), `too_common` (every rule met
        but guessable: the server will refuse it), `good` (zxcvbn 3) or `strong` (zxcvbn 4)."""
        if self.empty:
            return "empty"
        met = sum(self.rules.values())
        if met == len(RULES):
            if self.guessable:
                return "too_common"
            return "strong" if self.score >= 4 else "good"
        return {2: "weak", 3: "weak", 4: "fair"}.get(met, "too_weak")

    @property
    def meter(self) -> int:
        """0–6 on the meter: one step per rule met, the sixth once every rule is met and zxcvbn
        finds it hard to guess; a guessable password never fills more than two steps (red),
        whatever rules it meets."""
        met = sum(self.rules.values())
        if self.guessable:
            return min(met, 2)
        return met + 1 if met == len(RULES) else met


def _rules(password: str) -> dict[str, bool]:
    return {
        "length": len(password) >= MIN_LENGTH and len(password.encode()) <= MAX_BYTES,
        "upper": any(ch.isupper() for ch in password),
        "lower": any(ch.islower() for ch in password),
        "digit": any(ch.isdigit() for ch in password),
        "symbol": any(_is_symbol(ch) for ch in password),
    }


def _score(password: str, user_inputs: tuple[str, ...]) -> int:
    if not password:
        return 0
    hints = [u[:MAX_BYTES] for u in user_inputs if u]
    return zxcvbn(password[:MAX_BYTES], user_inputs=hints)["score"]


def password_strength(password: str, *, user_inputs: tuple[str, ...] = ()) -> Strength:
    """The meter's reading of `password`, by the same rules and estimator as `check_password`."""
    score = _score(password, user_inputs)
    return Strength(rules=_rules(password), guessable=score < MIN_STRENGTH, score=score, empty=not password)


def check_password(password: str, *, user_inputs: tuple[str, ...] = ()) -> PolicyResult:
    """Every rule the password breaks, in words a person can act on (catalog messages: a page shows
    them in the reader's language through the refusal's `parts`)."""
    parts: list[tuple[str, dict]] = []
    if len(password) < MIN_LENGTH:
        parts.append((N_("Use at least %(count)d characters."), {"count": MIN_LENGTH}))
    if len(password.encode()) > MAX_BYTES:
        parts.append((N_("Use at most %(count)d bytes (about %(count)d plain letters)."), {"count": MAX_BYTES}))
    if not any(ch.isupper() for ch in password):
        parts.append((N_("Add an upper-case letter."), {}))
    if not any(ch.islower() for ch in password):
        parts.append((N_("Add a lower-case letter."), {}))
    if not any(ch.isdigit() for ch in password):
        parts.append((N_("Add a digit."), {}))
    if not any(_is_symbol(ch) for ch in password):
        parts.append((N_("Add a symbol, such as ! ? # or -."), {}))
    score = _score(password, user_inputs)
    if not parts and score < MIN_STRENGTH:
        parts.append((N_("This password is too easy to guess. Avoid common words, names and patterns."), {}))
    return PolicyResult([part % values if values else part for part, values in parts], score, parts)
