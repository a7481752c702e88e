"""Where people are sent: each role's home, and the `next=` links that may be followed."""

from __future__ import annotations

from urllib.parse import urlsplit

ROLE_HOMES = {"patient": "/dashboard", "doctor": "/doctor/", "admin": "/admin/"}


def home_for_role(role: str) -> str:
    return ROLE_HOMES.get(role, "/")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never an open redirect. A backslash (`/\\evil.example` is
    `//evil.example` to browsers), whitespace or a control character (CR/LF would split the
    Location header) means the link was not ours: it is ignored."""
    if not target or any(c == "\\" or c.isspace() or not c.isprintable() for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
