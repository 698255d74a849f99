"""The Grafana CSV parser: every rule on small inputs, the shared real files, and fuzzing."""

from __future__ import annotations

import contextlib
import csv
import io
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchgui.errors import ConfigError
from benchgui.model import SampleFlag
from benchgui.recording.csv_import import ImportFormatError, ParsedCsv, parse_grafana_csv
from benchgui.recording.import_mapping import ColumnSpec, mapping_from_toml, parse_header

DATA = Path("/work/shared/data")
_SHARED = [Path(__file__).resolve().parents[2].parent / "shared" / "data", DATA]
SHARED_FILES = next((sorted(p.glob("*.csv")) for p in _SHARED if p.is_dir()), [])
HEADER = (
    '"Time","Bat_voltage {device=""470023670"", name=""V""}",'
    '"Bat_current {device=""470023670"", name=""V""}",'
    '"Bat_A {device=""mppt-1210-hus"", name=""A""}","Bat_V {device=""EA-EL-3060"", name=""V""}",'
    '"Bat_V {device=""mppt-1210-hus"", name=""V""}"'
)
CHANNELS = [
    "battery.voltage.labjack",
    "battery.current.labjack",
    "battery.current.mppt",
    "battery.voltage.load",
    "battery.voltage.mppt",
]
BERLIN = ZoneInfo("Europe/Berlin")


def parse(text: str, **kw: object) -> ParsedCsv:
    return parse_grafana_csv(text.encode("utf-8"), **kw)  # type: ignore[arg-type]


def values(p: ParsedCsv, channel: str) -> list[tuple[int, float]]:
    return [(s.t_ns, s.value) for s in p.samples if s.channel == channel]


def test_header_tags_are_parsed() -> None:
    col = parse_header(3, 'Bat_V {device="EA-EL-3060", name="V"}')
    assert (col.series, col.device, col.tags["name"]) == ("Bat_V", "EA-EL-3060", "V")
    assert parse_header(1, "plain").series == "plain"


def test_bom_sep_line_crlf_and_epoch_ms() -> None:
    text = "\ufeffsep=,\r\n" + HEADER + "\r\n1622238915000,12.9,-1.0,-1.03,12.85,12.84\r\n\r\n"
    p = parse(text)
    assert [c.channel for c in p.columns] == CHANNELS
    assert p.time_format == "epoch ms"
    assert p.rows_read == 1
    assert p.blank_lines == 1
    assert values(p, "battery.voltage.mppt") == [(1622238915000 * 10**6, 12.84)]
    assert p.devices == {"labjack": "470023670", "mppt": "mppt-1210-hus", "load": "EA-EL-3060"}


@pytest.mark.parametrize(
    ("stamp", "expected_ns"),
    [
        ("1622238915", 1622238915 * 10**9),
        ("1622238915000", 1622238915 * 10**9),
        ("1622238915000000", 1622238915 * 10**9),
        ("1622238915000000123", 1622238915 * 10**9 + 123),
        ("1622238915.5", 1622238915 * 10**9 + 500_000_000),
        ("2021-05-28 23:55:15", 1622238915 * 10**9),  # local Berlin time (CEST, +2 h)
        ("2021-05-28T21:55:15Z", 1622238915 * 10**9),  # an explicit offset wins
        ("2021-05-28 23:55:15.250+02:00", 1622238915 * 10**9 + 250_000_000),
    ],
)
def test_time_formats(stamp: str, expected_ns: int) -> None:
    p = parse(f"Time,Bat_voltage\n{stamp},12.5\n", tz=BERLIN)
    assert values(p, "battery.voltage.labjack") == [(expected_ns, 12.5)]


def test_autumn_dst_ambiguity_takes_the_first_time() -> None:
    p = parse("Time,Bat_voltage\n2021-10-31 02:30:00,1\n", tz=BERLIN)
    assert p.samples[0].t_ns == 1635640200 * 10**9  # 00:30 UTC (still CEST)


def test_empty_cells_bad_rows_and_bad_cells_are_reported_with_line_numbers() -> None:
    text = (
        "Time,Bat_voltage,Bat_current\n"  # line 1
        "1000000000000,12.0,\n"  # 2: empty cell
        "nonsense,12.1,1\n"  # 3: bad time → bad row
        "1000000001000,abc,2\n"  # 4: bad cell, current kept
        "1000000002000,1\n"  # 5: wrong cell count → bad row
        "1000000003000,null,NaN\n"  # 6: Grafana's nothing → empty
        "1000000004000,1e999,3\n"  # 7: not finite → bad cell
    )
    p = parse(text)
    assert p.rows_read == 6
    assert [(b.line, b.text[:12]) for b in p.bad_rows] == [(3, "not a time: "), (5, "expected 3 c")]
    assert [b.line for b in p.bad_cells] == [4, 7]
    assert p.empty_cells == 3
    assert values(p, "battery.voltage.labjack") == [(10**18, 12.0)]
    assert [v for _, v in values(p, "battery.current.labjack")] == [2.0, 3.0]


def test_unsorted_rows_are_sorted_and_listed_duplicates_counted() -> None:
    text = "Time,Bat_voltage\n3000,3\n1000,1\n2000,2\n1000,1\n2000,2.5\n"
    p = parse(text)
    assert [v for _, v in values(p, "battery.voltage.labjack")] == [1.0, 2.0, 2.5, 3.0]
    assert p.backwards == [3, 5]
    assert p.duplicates_dropped == 1
    assert p.same_time_conflicts == 1


def test_zero_voltage_with_a_battery_seen_is_a_gap_without_one_it_is_suspect() -> None:
    head = 'Time,Bat_V {device="EA-EL-3060"},Bat_V {device="mppt"}\n'
    p = parse(head + "1000,0,12.5\n1030,0,0\n")  # second row: the MPPT saw 12.5 V 30 s before
    assert values(p, "battery.voltage.load") == []
    assert values(p, "battery.voltage.mppt") == [(1000 * 10**9, 12.5)]
    assert [(c.missing, c.suspect) for c in p.columns] == [(2, 0), (1, 0)]
    p = parse(head + "1000,0,0\n")  # nobody sees a battery: maybe really disconnected
    assert [(s.value, s.flags) for s in p.samples] == [(0.0, SampleFlag.SUSPECT)] * 2
    assert [(c.missing, c.suspect) for c in p.columns] == [(0, 1), (0, 1)]


def test_zero_current_of_an_instrument_without_data_in_the_row_is_a_gap() -> None:
    head = 'Time,Bat_A {device="mppt"},Bat_V {device="mppt"},Bat_V {device="EA-EL-3060"}\n'
    p = parse(head + "1000,0,12.5,12.4\n1001,0,0,12.4\n1002,0,,12.4\n")
    # row 1: the MPPT has a voltage, so its 0 A is a reading (at rest); rows 2-3: no MPPT data
    assert values(p, "battery.current.mppt") == [(1000 * 10**9, 0.0)]
    assert p.columns[0].missing == 2
    assert p.columns[0].values == 1


def test_a_lone_zero_inside_a_steady_current_is_a_gap_a_run_of_zeros_is_not() -> None:
    head = "Time,battery.current.labjack,battery.voltage.labjack\n"
    p = parse(head + "1,-2.9,12\n2,0,12\n3,-2.8,12\n4,0,12\n5,0,12\n6,-2.8,12\n7,0,12\n8,0.01,12\n")
    assert [v for _, v in values(p, "battery.current.labjack")] == [-2.9, -2.8, 0.0, 0.0, -2.8, 0.0, 0.01]
    assert p.columns[0].missing == 1


def test_unmapped_columns_and_a_mapping_file() -> None:
    text = 'Time,Temp {device="x"},Bat_V {device="EA-EL-3060"}\n1000,21.5,12\n'
    p = parse(text)
    assert [c.channel for c in p.columns] == [None, "battery.voltage.load"]
    assert len(p.unmapped) == 1
    assert p.unmapped[0].values == 1
    mapping = mapping_from_toml(
        {
            "columns": {
                "Temp@x": {"channel": "battery.temperature.labjack", "unit": "°C", "scale": 2.0},
                "Bat_V": "",
            }
        }
    )
    p = parse(text, mapping=mapping)
    assert [c.channel for c in p.columns] == ["battery.temperature.labjack", None]
    assert values(p, "battery.temperature.labjack") == [(1000 * 10**9, 43.0)]
    assert p.channels[0].unit == "°C"


def test_two_columns_for_one_channel_is_an_error() -> None:
    with pytest.raises(ImportFormatError, match=r"both map to battery\.voltage\.labjack"):
        parse("Time,Bat_voltage,Bat_voltage\n1000,1,2\n")


@pytest.mark.parametrize("text", ["", "\ufeff", "\r\n\r\n", "sep=,\n", "Time\n1,2\n", "1622238915000,12\n"])
def test_files_without_a_usable_header_raise_the_import_error(text: str) -> None:
    with pytest.raises(ImportFormatError):
        parse(text)


def test_semicolon_files_and_latin1() -> None:
    p = parse_grafana_csv("Time;Bat_voltage;Bat_current °\n1000;12,5;1\n".encode("latin-1"))
    assert p.encoding == "latin-1"
    assert p.delimiter == ";"
    assert [b.line for b in p.bad_cells] == [2]  # decimal comma is not a number here


def _rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    return rows[1:] if rows[0][0].startswith("sep=") else rows


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_every_shared_file_imports_completely(path: Path) -> None:
    rows = _rows(path)
    header, body = rows[0], rows[1:]
    tz = BERLIN  # the bench was in Germany; the date-time export is in its local time
    p = parse_grafana_csv(path.read_bytes(), tz=tz)
    assert [c.channel for c in p.columns] == CHANNELS
    assert p.rows_read == len(body)
    assert not p.bad_rows
    assert not p.bad_cells
    non_empty = [sum(1 for r in body if r[j] != "") for j in range(1, len(header))]
    assert [c.values + c.missing for c in p.columns] == non_empty
    assert len(p.samples) == sum(c.values for c in p.columns)  # nothing else dropped
    zeros = [sum(1 for r in body if r[j] != "" and float(r[j]) == 0) for j in range(1, len(header))]
    assert all(c.missing <= z for c, z in zip(p.columns, zeros, strict=True))  # only zeros are gaps
    assert [s.t_ns for s in p.samples] == sorted(s.t_ns for s in p.samples)
    # a few values against the file, cell by cell
    first, last = body[0], body[-1]
    t_first = p.samples[0].t_ns
    by_key = {(s.channel, s.t_ns): s.value for s in p.samples}
    for row in (first, body[len(body) // 2], last):
        t = (
            parse_grafana_csv(f"Time,x\n{row[0]},1\n".encode(), tz=tz, mapping={"x": ColumnSpec("a.b", "")})
            .samples[0]
            .t_ns
        )
        for j, ch in enumerate(CHANNELS, start=1):
            if row[j] != "" and float(row[j]) != 0:
                assert by_key[(ch, t)] == float(row[j])
    assert t_first == min(k[1] for k in by_key)


def test_epoch_and_datetime_exports_of_the_same_session_agree_in_time() -> None:
    a = parse_grafana_csv((DATA / "bench-2021-05-28-grafana-epoch-ms.csv").read_bytes())
    b = parse_grafana_csv((DATA / "bench-2021-05-28-grafana-datetime-sep.csv").read_bytes(), tz=BERLIN)
    assert [(s.channel, s.t_ns) for s in a.samples] == [(s.channel, s.t_ns) for s in b.samples]
    # the date-time export was written with fewer decimals
    assert all(abs(x.value - y.value) < 0.51 for x, y in zip(a.samples, b.samples, strict=True))


def spreadsheet_resave(data: bytes) -> bytes:
    """What a spreadsheet writes back: no BOM, no ``sep=`` line, LF, blanks as 0, 15 digits."""
    rows = [r for r in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) if r]
    rows = rows[1:] if rows[0][0].startswith("sep=") else rows
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(rows[0])
    for r in rows[1:]:
        w.writerow([r[0], *("0" if c == "" else f"{float(c):.15g}" for c in r[1:])])
    return out.getvalue().encode("utf-8")


def assert_same_samples(a: ParsedCsv, b: ParsedCsv) -> None:
    assert [(s.channel, s.t_ns, s.flags) for s in a.samples] == [
        (s.channel, s.t_ns, s.flags) for s in b.samples
    ]
    assert all(
        math.isclose(x.value, y.value, rel_tol=1e-14) for x, y in zip(a.samples, b.samples, strict=True)
    )


def test_a_synthetic_export_and_its_spreadsheet_resave_give_the_same_samples() -> None:
    text = (
        "\ufeffsep=,\r\n" + HEADER + "\r\n"
        "1000,,-1.0189274549484253,-1.03,12.85,12.84\r\n"  # LabJack voltage missing
        "1001,12.909520149230957,,,,12.85\r\n"  # LabJack current, MPPT current, load missing
        "1002,,-1.02,-1.03,,\r\n"  # the MPPT's current without its voltage: still a reading
        "1003,,-1.021,0,0,12.8\r\n"  # load off (0 V: missing), the MPPT at 0 A (a reading)
        "1004,,,,,\r\n"
    )
    original = parse_grafana_csv(text.encode("utf-8"))
    resaved_bytes = spreadsheet_resave(text.encode("utf-8"))
    assert b"\r" not in resaved_bytes
    assert b",," not in resaved_bytes
    resaved = parse_grafana_csv(resaved_bytes)
    assert_same_samples(original, resaved)
    assert (1003 * 10**9, 0.0) in values(original, "battery.current.mppt")
    assert values(original, "battery.voltage.load") == [(1000 * 10**9, 12.85)]
    assert [c.missing for c in original.columns] == [0, 0, 0, 1, 0]
    assert [c.missing for c in resaved.columns] == [4, 2, 2, 4, 2]


@pytest.mark.skipif(not SHARED_FILES, reason="shared bench recordings not present")
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_a_shared_export_and_its_spreadsheet_resave_give_the_same_samples(path: Path) -> None:
    data = path.read_bytes()
    original = parse_grafana_csv(data, tz=BERLIN)
    resaved = parse_grafana_csv(spreadsheet_resave(data), tz=BERLIN)
    assert_same_samples(original, resaved)
    assert all(s.value != 0.0 for s in resaved.samples if s.channel.startswith("battery.voltage."))
    assert [c.empty + c.missing for c in original.columns] == [c.missing for c in resaved.columns]


def test_a_header_unit_is_converted_or_the_column_refused_never_the_channel_unit() -> None:
    p = parse('Time,battery.voltage.labjack {unit="mV"},battery.current.mppt {unit="A"}\n1,12500,-2\n')
    assert values(p, "battery.voltage.labjack") == [(10**9, 12.5)]
    assert [(c.name, c.unit) for c in p.channels] == [
        ("battery.voltage.labjack", "V"),
        ("battery.current.mppt", "A"),
    ]
    hostile = 'Time,"battery.voltage.labjack {unit=""=cmd|\' /C calc\'!A0""}"\n1,12\n'
    with pytest.raises(
        ImportFormatError,
        match=r"^line 1: column 2 .*unit \"=cmd\|' /C calc'!A0\" of battery\.voltage\.labjack must be 'V'",
    ):
        parse(hostile)
    with pytest.raises(ImportFormatError, match=r"line 2: column 2 .*must be 'V' or one of"):
        parse('sep=,\nTime,battery.voltage.labjack {unit="mA"}\n1,12\n')
    with pytest.raises(ImportFormatError, match=r"must be empty \(the channel has no unit\)"):
        parse('Time,load.input.load {unit="V"}\n1,1\n')


def test_a_mapping_unit_is_converted_or_refused_naming_the_key() -> None:
    m = mapping_from_toml({"columns": {"X": {"channel": "battery.current.mppt", "unit": "mA", "scale": 2.0}}})
    assert m["X"] == ColumnSpec("battery.current.mppt", "A", 2e-3, 0.0)
    t = mapping_from_toml({"columns": {"T": {"channel": "battery.temperature.labjack", "unit": "K"}}})
    assert parse("Time,T\n1,300\n", mapping=t).samples[0].value == pytest.approx(26.85)
    with pytest.raises(ConfigError, match=r'columns\."X"\.unit.*must be \'A\''):
        mapping_from_toml({"columns": {"X": {"channel": "battery.current.mppt", "unit": "=1+1"}}})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_fuzz_bytes_only_ever_give_a_result_or_the_import_error(data: bytes) -> None:
    with contextlib.suppress(ImportFormatError):
        parse_grafana_csv(data)


csv_cell = st.one_of(
    st.text(max_size=12),
    st.floats().map(repr),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.sampled_from(["", "null", "NaN", "2021-05-28 23:55:15", "1e999", '"', "\r\n", "sep=;"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(csv_cell, min_size=1, max_size=6), min_size=1, max_size=8), st.sampled_from([",", ";"])
)
def test_fuzz_csv_shaped_input(rows: list[list[str]], delim: str) -> None:
    text = HEADER.replace(",", delim) + "\n" + "\n".join(delim.join(r) for r in rows)
    try:
        p = parse(text, tz=BERLIN)
    except ImportFormatError:
        return
    assert p.rows_read >= len(p.bad_rows)
    assert all(s.value == s.value for s in p.samples)
