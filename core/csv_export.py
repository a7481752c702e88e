"""Every CSV the product writes goes through here (SPEC §22 "CSV").

A cell that a spreadsheet would run as a formula — text starting with `=`, `+`, `-`, `@`, a tab or
a carriage return, e.g. a patient who signed up as `=HYPERLINK("http://evil.example","Click")` —
gets a leading apostrophe, so Excel and LibreOffice show it as text (OWASP "CSV injection").
Plain numbers such as `-3` or `-0.125` are left alone: they are data, not formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value) -> object:
    """The cell as it is safe to write: text that could start a formula is prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """CSV text (comma-separated, `\\n` line ends) with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def frame_csv(frame) -> str:
    """A pandas DataFrame (without its index) as neutralised CSV; empty cells for missing values."""
    rows = frame.astype(object).where(frame.notna(), "").itertuples(index=False, name=None)
    return write_csv([str(c) for c in frame.columns], rows)
