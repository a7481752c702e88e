"""The password policy (SPEC §6; OWASP ASVS 2.1.7): at least 12 characters with an upper- and a
lower-case letter, a digit and a symbol, and not guessable — "Password123!" passes the class rule
but not the zxcvbn strength estimate (score ≥ 3 of 4)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_BYTES = 72  # bcrypt's limit: longer passwords are refused, never silently cut
MIN_STRENGTH = 3


@dataclass(frozen=True)
class PolicyResult:
    problems: list[str]
    score: int  # zxcvbn 0–4, for the strength meter

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_symbol(ch: str) -> bool:
    return (not ch.isalnum() and not ch.isspace()) or unicodedata.category(ch).startswith(("P", "S"))


def check_password(password: str, *, user_inputs: tuple[str, ...] = ()) -> PolicyResult:
    """Every rule the password breaks, in words a person can act on."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password.encode()) > MAX_BYTES:
        problems.append(f"Use at most {MAX_BYTES} bytes (about {MAX_BYTES} plain letters).")
    if not any(ch.isupper() for ch in password):
        problems.append("Add an upper-case letter.")
    if not any(ch.islower() for ch in password):
        problems.append("Add a lower-case letter.")
    if not any(ch.isdigit() for ch in password):
        problems.append("Add a digit.")
    if not any(_is_symbol(ch) for ch in password):
        problems.append("Add a symbol, such as ! ? # or -.")
    hints = [u[:MAX_BYTES] for u in user_inputs if u]
    score = zxcvbn(password[:MAX_BYTES], user_inputs=hints)["score"] if password else 0
    if not problems and score < MIN_STRENGTH:
        problems.append("This password is too easy to guess. Avoid common words, names and patterns.")
    return PolicyResult(problems, score)
