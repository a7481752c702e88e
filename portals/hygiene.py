"""Input hygiene, in one layer in front of every view (SPEC §12: bad input is a clear 4xx, never a
500, never a half-written row), so no handler has to remember it:

- a JSON body must parse, hold only finite numbers and nest at most MAX_JSON_DEPTH levels
  (else 400 ERR_BAD_REQUEST, before any view code runs);
- no text in a request — JSON strings and keys, the query string, form fields — may hold a NUL
  (PostgreSQL refuses it in text) or a lone UTF-16 surrogate (it has no UTF-8 encoding): 422
  ERR_VALIDATION naming the field (API), or the error page saying so (browser forms);
- every date and time a client sends lies in years MIN_YEAR..MAX_YEAR: the `BoundedDateTime` and
  `BoundedDate` pydantic types for the API and `parse_day` / `parse_moment` for pages, so window
  arithmetic (a week after year 9999, a day before year 1) never overflows.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from flask import Flask, request
from pydantic import AfterValidator

from core.errors import MalformedRequest, ValidationFailed
from core.i18n import N_

MAX_JSON_DEPTH = 64
MIN_YEAR, MAX_YEAR = 1900, 2100
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
OPAQUE_BODY_PATHS = {"/api/video-test/upload"}  # the bandwidth probe only counts the bytes


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None when it can."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    return "contains a NUL character" if found.group() == "\x00" else "contains an unpaired surrogate (not UTF-8)"


def _field_label(path: str) -> str:
    label = path if text_problem(path) is None else "a field name"
    return label[:80] or "body"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Parse a request body: 400 when it is not JSON (or hides NaN, Infinity or a huge exponent),
    too deep; 422 when a string or key holds text that cannot be stored."""
    try:
        document = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; deep nesting recurses
        raise MalformedRequest(N_("The body is not valid JSON (or nests too deeply).")) from None
    check_document(document)
    return document


def check_document(document: Any) -> None:
    """Walk a parsed JSON document without recursion: depth, then every key and string."""
    todo: list[tuple[Any, str, int]] = [(document, "", 1)]
    while todo:
        value, path, depth = todo.pop()
        if depth > MAX_JSON_DEPTH:
            raise MalformedRequest(N_("The JSON nests more than %(count)d levels deep."),
                                   params={"count": MAX_JSON_DEPTH})
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, path)
                todo.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            todo.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def _check_text(value: str, path: str) -> None:
    problem = text_problem(value)
    if problem:
        field = _field_label(path)
        raise ValidationFailed(f"{field}: the text {problem}.", details={"fields": [
            {"field": field, "message": f"the text {problem}"}]})


def _check_pairs(pairs, where: str) -> None:
    for key, values in pairs.lists():
        _check_text(key, where)
        for value in values:
            _check_text(value, f"{where} {key}" if text_problem(key) is None else where)


def guard_request() -> None:
    """before_request: read what the client sent once, refuse what no view could store."""
    _check_pairs(request.args, "query")
    if request.mimetype in _FORM_TYPES:
        _check_pairs(request.form, "form")
    elif request.is_json and request.content_length and request.path not in OPAQUE_BODY_PATHS:
        parse_json(request.get_data(cache=True))


def init_hygiene(app: Flask) -> None:
    app.before_request(guard_request)


# --- dates and times --------------------------------------------------------------------------

def _bounded(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"dates must lie in the years {MIN_YEAR}–{MAX_YEAR}")
    return value


BoundedDate = Annotated[date, AfterValidator(_bounded)]
BoundedDateTime = Annotated[datetime, AfterValidator(_bounded)]


def parse_day(value: str | None, message: str = "Dates look like 2026-03-02.") -> date | None:
    """A page's `?date=`: None when absent, ValidationFailed when not a bounded ISO date."""
    if not value:
        return None
    try:
        return _bounded(date.fromisoformat(value))
    except ValueError:
        raise ValidationFailed(message) from None


def parse_moment(value: str | None) -> datetime | None:
    """A page's `?start=` with its offset (a "+" in a query string reads as a space); None when
    absent, naive, malformed or out of bounds."""
    if not value:
        return None
    try:
        parsed = _bounded(datetime.fromisoformat(value.replace(" ", "+")))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
