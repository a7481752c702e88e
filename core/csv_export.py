"""Every CSV the product writes goes through here (SPEC §22 "CSV").

A cell that a spreadsheet would run as a formula — text starting with `=`, `+`, `-`, `@`, a tab or
a carriage return, e.g. a patient who signed up as `=HYPERLINK("http://evil.example","Click")` —
gets a leading apostrophe, so Excel and LibreOffice show it as text (OWASP "CSV injection").
Plain numbers such as `-3` or `-0.125` are left alone: they are data, not formulas.

Excel in France and Germany: the file starts with a UTF-8 byte order mark (else Excel reads
"Chloé" as "ChloÃ©"), and for a French or German reader the separator is `;` and the decimal mark
`,` (their Excel splits on `;` and reads `0,125` as a number). English keeps `,` and `.`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
BOM = "\ufeff"


@dataclass(frozen=True)
class CsvStyle:
    separator: str
    decimal: str


ENGLISH = CsvStyle(",", ".")
CONTINENTAL = CsvStyle(";", ",")
STYLES = {"fr": CONTINENTAL, "de": CONTINENTAL}


def style_for(language: str | None) -> CsvStyle:
    """The separator and decimal mark a spreadsheet in `language` expects (`en`, `fr`, `de`)."""
    return STYLES.get((language or "en").split("-")[0].split("_")[0].lower(), ENGLISH)


def neutralise(value) -> object:
    """The cell as it is safe to write: text that could start a formula is prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _localise(value, style: CsvStyle) -> object:
    """A decimal number (a float, or text that is only a number) with the reader's decimal mark."""
    if style.decimal == ".":
        return value
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str) and "." in value and _PLAIN_NUMBER.fullmatch(value):
        return value.replace(".", style.decimal)
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence], *, language: str | None = None) -> str:
    """CSV text (`\\n` line ends) with every cell neutralised; `,`-separated for English, `;` with
    decimal commas for French and German. Without the BOM: `as_file` adds it to what is sent."""
    style = style_for(language)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=style.separator, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([_localise(neutralise(cell), style) for cell in row] for row in rows)
    return buffer.getvalue()


def frame_csv(frame, *, language: str | None = None) -> str:
    """A pandas DataFrame (without its index) as neutralised CSV; empty cells for missing values."""
    rows = frame.astype(object).where(frame.notna(), "").itertuples(index=False, name=None)
    return write_csv([str(c) for c in frame.columns], rows, language=language)


def as_file(text: str) -> str:
    """The CSV as a downloaded file: UTF-8 with a byte order mark, so Excel reads the accents."""
    return text if text.startswith(BOM) else BOM + text
