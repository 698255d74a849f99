"""The importer's limits (issue 22): memory does not grow with the file, columns and listings capped.

A 27 MB export took 1.2 GB and a 10⁶-column header printed a 10 MB error line; these run the real
command in-process on generated files and measure Python's own allocations with tracemalloc.
"""

from __future__ import annotations

import os
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from benchgui.recording.csv_import import MAX_COLUMNS, MAX_LISTED, parse_grafana_csv
from benchgui.recording.csv_text import MAX_LINE_CHARS
from benchgui.recording.store import Store

Cli = Callable[..., subprocess.CompletedProcess[str]]
HEADER = (
    'Time,"Bat_voltage {device=""470023670""}","Bat_current {device=""470023670""}",'
    '"Bat_V {device=""mppt-1210-hus""}","Bat_A {device=""mppt-1210-hus""}"\n'
)


def bench_export(path: Path, rows: int) -> Path:
    """A bench-like export: 1 Hz, four columns, a discharge at -3 A."""
    t0 = 1622238915000
    with path.open("w") as f:
        f.write(HEADER)
        for i in range(rows):
            v = 12.9 - i * 1e-5
            f.write(f"{t0 + 1000 * i},{v:.6f},-2.877,{v - 0.047:.5f},-3.0{i % 10}\n")
    return path


def peak_import(cli: Cli, csv_file: Path, store: Path) -> int:
    tracemalloc.start()
    try:
        r = cli(["import", str(csv_file), "--store", str(store)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.returncode == 0, r.stderr
    return peak


def test_import_memory_does_not_grow_with_the_file(cli: Cli, tmp_path: Path) -> None:
    small = bench_export(tmp_path / "small.csv", 3_000)
    big = bench_export(tmp_path / "big.csv", 12_000)  # 4x the rows and bytes
    store = tmp_path / "s.sqlite3"
    peak_import(cli, small, tmp_path / "warm.sqlite3")  # first-use allocations (imports, caches)
    p_small = peak_import(cli, small, store)
    p_big = peak_import(cli, big, store)
    with Store(store) as s:
        assert sorted(x.samples for x in s.sessions()) == [4 * 3_000, 4 * 12_000]  # everything stored
    sizes = small.stat().st_size, big.stat().st_size
    print(f"peak Python memory: {p_small} B for {sizes[0]} B, {p_big} B for {sizes[1]} B")
    # the old importer held the whole file several times over: 4x the file gave ~4x the peak
    assert p_big < 1.1 * p_small + 64 * 1024, (p_small, p_big)
    assert p_big < 16 * big.stat().st_size, (p_big, big.stat().st_size)
    assert not list(tmp_path.glob(".benchgui-import-*"))  # the scratch database is gone


def test_a_million_columns_is_one_short_line(cli: Cli, tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text("Time," + ",".join(f"c{i}" for i in range(10**6)) + "\n1,1\n")
    r = cli(["import", str(wide), "--store", str(tmp_path / "s.sqlite3")])
    assert r.returncode == 1
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1
    assert len(r.stderr) < 200, r.stderr[:300]
    assert f"longer than {MAX_LINE_CHARS} characters" in r.stderr
    assert not (tmp_path / "s.sqlite3").exists() or not list(tmp_path.glob(".benchgui-import-*"))


def test_more_columns_than_the_cap_are_refused_in_one_line(cli: Cli, tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    n = MAX_COLUMNS + 1
    wide.write_text("Time," + ",".join(f"battery.voltage.x{i}" for i in range(n)) + "\n")
    r = cli(["import", str(wide), "--store", str(tmp_path / "s.sqlite3")])
    assert r.returncode == 1
    assert r.stderr.strip() == f"benchgui: line 1: {n} data columns: at most {MAX_COLUMNS} are read"


def test_a_file_without_line_ends_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    blob = b"Time,battery.voltage.x\n" + b"1" * (3 * MAX_LINE_CHARS)
    tracemalloc.start()
    try:
        try:
            parse_grafana_csv(blob)
        except ValueError as exc:
            message = str(exc)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == f"line 2: line longer than {MAX_LINE_CHARS} characters: not a Grafana CSV export"
    assert peak < len(blob), peak  # read in bounded pieces, not as one string


def test_problem_listings_keep_the_first_lines_and_count_the_rest(cli: Cli, tmp_path: Path) -> None:
    rows = ["Time,battery.voltage.x"] + [f"{1000 + i},1" for i in range(5)]
    rows += ["bad,1"] * 3 * MAX_LISTED + ["1,oops"] * 2 * MAX_LISTED + [f"{900 - i},1" for i in range(300)]
    p = parse_grafana_csv(("\n".join(rows) + "\n").encode())
    assert (len(p.bad_rows), p.bad.total) == (MAX_LISTED, 3 * MAX_LISTED)
    assert (len(p.bad_cells), p.bad_cell.total) == (MAX_LISTED, 2 * MAX_LISTED)
    assert p.bad_rows[0].line == 7
    assert p.bad_rows[-1].line == 7 + MAX_LISTED - 1
    assert (len(p.backwards), p.backward.total) == (MAX_LISTED, 300)
    f = tmp_path / "bad.csv"
    f.write_text("\n".join(rows) + "\n")
    r = cli(["import", str(f), "--store", str(tmp_path / "s.sqlite3"), "--dry-run"])
    assert r.returncode == 0, r.stderr
    assert f"bad rows (skipped): {3 * MAX_LISTED}" in r.stdout
    assert f"  … and {3 * MAX_LISTED - 50} more" in r.stdout
    assert "time goes backwards at 300 row(s)" in r.stdout
    assert len(r.stdout.splitlines()) < 140


def test_a_device_or_fifo_is_refused_not_read_forever(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        r = cli(["import", path, "--store", str(tmp_path / "s.sqlite3")])
        assert r.returncode == 1
        assert r.stderr.startswith(f"benchgui: cannot read {path}: "), r.stderr
        assert len(r.stderr.splitlines()) == 1


def test_the_encoding_is_decided_over_the_whole_stream(tmp_path: Path) -> None:
    """Read in chunks, the choice is the one the whole-file decode made (BOM, then invalid bytes)."""
    body = "Time,battery.voltage.x\n" + "".join(f"{1000 + i},12.{i}\n" for i in range(30_000))
    late_latin1 = b"\xef\xbb\xbf" + body.encode() + b"2000000,1\xb0\n"  # one bad byte far past 64 KiB
    assert parse_grafana_csv(late_latin1).encoding == "latin-1"
    assert parse_grafana_csv(b"\xef\xbb\xbf" + body.encode()).encoding == "utf-8"
    cr_only = parse_grafana_csv(b"Time;battery.voltage.x\r1000;12\r2000;13\r")  # classic Mac line ends
    assert (cr_only.delimiter, cr_only.sample_count) == (";", 2)
