"""The run CSV: accepted variants and errors with line numbers."""

import math

import pytest

from benchgui.soc.csvrun import RunCsvError, format_soc_csv, parse_run_csv
from benchgui.soc.replay import ReplayResult


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_plain_file_with_optional_temperature_and_gaps() -> None:
    run = parse_run_csv(
        lines("time_s,current_a,voltage_v,temperature_c\n0,-1.0,12.5,25\n1,-1.0,,25\n5,0,12.6,\n")
    )
    assert list(run.t_s) == [0, 1, 5]
    assert math.isnan(run.voltage_v[1])  # an empty voltage: predict-only row
    assert run.temperature_c is not None
    assert math.isnan(run.temperature_c[2])


def test_spreadsheet_variants_are_accepted() -> None:
    text = "\ufeffsep=;\r\n# exported\r\nvoltage_v;time_s;extra;current_a\r\n12.5;0;x;-1\r\n12.4;1;y;-1.5\r\n"
    run = parse_run_csv(lines(text))
    assert list(run.current_a) == [-1, -1.5]
    assert list(run.voltage_v) == [12.5, 12.4]
    assert run.temperature_c is None


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", 0, "empty"),
        ("time,current,voltage\n1,2,3\n", 1, "lacks time_s, current_a, voltage_v"),
        ("time_s,current_a,voltage_v\n", 0, "no data rows"),
        ("time_s,current_a,voltage_v\n0,1,12\n1,abc,12\n", 3, "current_a: 'abc' is not a number"),
        ("time_s,current_a,voltage_v\n0,1,12\n\n2,,12\n", 4, "current_a is empty"),
        ("time_s,current_a,voltage_v\n0,1,12\n1,1\n", 3, "2 fields"),
        ("time_s,current_a,voltage_v\n5,1,12\n4,1,12\n", 3, "earlier than the previous"),
        ("time_s,current_a,voltage_v\nnan,1,12\n", 2, "time_s: 'nan' is not a finite number"),
    ],
)
def test_malformed_files_name_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(RunCsvError) as info:
        parse_run_csv(lines(text), "run.csv")
    assert info.value.line == line
    assert problem in str(info.value)
    assert str(info.value).startswith("run.csv")


def test_output_format() -> None:
    import numpy as np

    r = ReplayResult(
        np.array([0.0, 1.5]),
        np.array([0.5, 0.499]),
        np.array([0.01, 0.02]),
        np.zeros(2),
        np.zeros(2),
        0.5,
        0.1,
        "given",
        0,
        0,
        0,
    )
    assert list(format_soc_csv(r)) == [
        "time_s,soc_pct,soc_3sigma_pct\n",
        "0.000,50.000,3.000\n",
        "1.500,49.900,6.000\n",
    ]
