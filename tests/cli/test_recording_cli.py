"""`benchgui import`, `export`, `forward` and `sessions list --json`, as an operator runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgui.model import Channel, SessionMeta
from benchgui.recording.store import Store
from tests.helpers import cli_env, run_cli
from tests.recording.influxd import InfluxServer, free_port

Cli = Callable[..., subprocess.CompletedProcess[str]]
DATA = Path("/work/shared/data")
FILES = sorted(DATA.glob("*.csv"))
MISSING_ZEROS = {  # the load's 0 V while the others see the battery; in the small sample every blank
    "bench-2021-05-28-grafana-epoch-ms.csv": 233,
    "bench-2021-05-28-grafana-datetime-sep.csv": 233,
    "bench-small-sample.csv": 126,
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_import_every_shared_file(cli: Cli, path: Path) -> None:
    r = cli(["import", str(path), "--timezone", "Europe/Berlin", "--battery-id", "AGM-7"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    sid = lines[-1]
    rows = [row for row in csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")) if row]
    rows = rows[1:] if rows[0][0].startswith("sep=") else rows
    body = rows[1:]
    non_empty = sum(1 for row in body for cell in row[1:] if cell != "")
    expected = non_empty - MISSING_ZEROS[path.name]  # README's table: zeros that mean "no reading"
    assert f"{len(body)} data rows read" in lines[0]
    assert f"samples to import: {expected}" in r.stdout
    assert "zero(s) read as missing (gaps)" in r.stdout
    assert "battery.voltage.load" in r.stdout
    assert "bad rows" not in r.stdout
    assert "time goes backwards" in r.stdout  # two series were appended in every file
    js = json.loads(cli(["sessions", "list", "--json"]).stdout)
    (entry,) = [s for s in js if s["id"] == sid]
    assert entry["samples"] == expected
    assert entry["kind"] == "import"
    assert entry["battery_id"] == "AGM-7"
    assert entry["forwarded"] == 0
    assert entry["start"].startswith("2021-05-28T21:54")  # UTC; 23:54 in Berlin (CEST)


def test_import_bad_rows_are_reported_and_unmapped_columns_need_a_decision(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "odd.csv"
    f.write_text("Time,Bat_voltage,Temp\n1622238915000,12.5,20\nbroken,1,2\n1622238916000,x,21\n")
    r = cli(["import", str(f)])
    assert r.returncode == 2
    assert "no channel for column(s) 'Temp'" in r.stderr
    assert "line 3: not a time: 'broken'" in r.stdout
    assert "line 4: column 2: not a finite number: 'x'" in r.stdout
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nTemp = { channel = "battery.temperature.labjack", unit = "°C" }\n')
    r = cli(["import", str(f), "--mapping", str(mapping)])
    assert r.returncode == 0, r.stderr
    assert "samples to import: 3" in r.stdout
    r = cli(["import", str(f), "--skip-unmapped", "--dry-run"])
    assert r.returncode == 0
    assert r.stdout.strip().splitlines()[-1] == "dry run: nothing stored"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--mapping", "/nonexistent.toml"], "file not found"),
    ],
)
def test_import_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    r = cli(["import", str(FILES[0]), *args])
    assert r.returncode == 2
    assert message in r.stderr


def test_import_of_garbage_is_one_line_and_exit_1(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(b"\x00\x01\x02 not a csv")
    r = run_cli(["import", str(f)])  # a real process: exit code and stderr as the shell sees them
    assert r.returncode == 1
    assert r.stderr.startswith("benchgui: ")
    assert "Traceback" not in r.stderr


def test_export_csv_and_line_protocol(cli: Cli, tmp_path: Path) -> None:
    sid = cli(["import", str(DATA / "bench-small-sample.csv")]).stdout.strip().splitlines()[-1]
    r = cli(["export", sid[:15], "--format", "csv"])
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["time_ns", "time_utc", "channel", "unit", "value", "flags"]
    assert len(rows) == 1 + 624  # 150 rows × 5 cells, 126 of them zeros meaning "no reading"
    assert rows[1][1] == "2021-05-28T21:54:08.000000000Z"
    out = tmp_path / "s.lp"
    r = cli(["export", "latest", "--format", "lineprotocol", "--output", str(out)])
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 1 + 624  # session point, the import event, samples
    assert lines[0].startswith(f"sessions,kind=import,session={sid} ")
    assert any(ln.startswith("battery,device=EA-EL-3060,session=") and "voltage_v=12." in ln for ln in lines)
    assert f"exported {len(lines)} lines" in r.stderr
    r = cli(["export", "nope"])
    assert r.returncode == 1
    assert "no session matches 'nope'" in r.stderr


def test_forward_needs_a_configuration(cli: Cli) -> None:
    r = cli(["forward", "--once"])
    assert r.returncode == 2
    assert "BENCHGUI_INFLUX_URL" in r.stderr


def test_forward_once_with_env_only(cli: Cli, tmp_path: Path) -> None:
    server = InfluxServer(tmp_path / "influxd")
    sid = cli(["import", str(DATA / "bench-small-sample.csv")]).stdout.strip().splitlines()[-1]
    env = {
        "BENCHGUI_INFLUX_URL": server.url,
        "BENCHGUI_INFLUX_VERSION": "1",
        "BENCHGUI_INFLUX_DATABASE": "old",
    }
    r = cli(["forward", "--once"], env=env)  # nobody listens yet
    assert r.returncode == 1
    assert "unavailable: cannot reach" in r.stderr
    assert "backlog of 624 samples and 1 events kept" in r.stderr
    server.start()
    try:
        server.create_db("old")
        r = cli(["forward", "--once"], env=env)
        assert r.returncode == 0, r.stderr
        assert "forwarded 624 samples, 1 events and 1 session points" in r.stdout
        assert "backlog: 0 samples, 0 events" in r.stdout
        assert server.count("old", "battery", "voltage_v") == 150 * 3 - 91  # 91 load/LabJack 0 V gaps
        js = json.loads(cli(["sessions", "list", "--json"], env=env).stdout)
        assert [(s["id"], s["samples"], s["forwarded"]) for s in js] == [(sid, 624, 624)]
        table = cli(["sessions", "list"], env=env).stdout
        assert "forwarded" in table.splitlines()[0]
        r = cli(["forward", "--once"], env=env)  # nothing left: still checks the server
        assert r.returncode == 0
        assert "forwarded 0 samples" in r.stdout
        r = cli(["forward", "--once"], env={**env, "BENCHGUI_INFLUX_DATABASE": "missing"})
        assert r.returncode == 1
        assert "database not found" in r.stderr
    finally:
        server.stop()


def test_forward_env_overrides_the_file(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[recording.influx]\nurl = "http://127.0.0.1:1"\nversion = 2\norg = "o"\nbucket = "b"\n'
    )
    r = cli(["--config", str(config), "forward", "--once"])
    assert r.returncode == 2
    assert "recording.influx.token: required for InfluxDB 2.x" in r.stderr
    port = free_port()
    r = cli(
        ["--config", str(config), "forward", "--once"],
        env={"BENCHGUI_INFLUX_TOKEN": "t", "BENCHGUI_INFLUX_URL": f"http://127.0.0.1:{port}"},
    )
    assert r.returncode == 0  # nothing to forward: no store yet
    assert "nothing to forward" in r.stdout


def test_headless_commands_import_no_qt() -> None:
    code = (
        "import sys, benchgui.cli.import_, benchgui.cli.export, benchgui.cli.forward;"
        "bad=[m for m in sys.modules if m.startswith(('PySide6','pyqtgraph','qasync'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_into_an_explicit_store(cli: Cli, tmp_path: Path) -> None:
    store = tmp_path / "other.sqlite3"
    r = cli(["--store", str(store), "import", str(DATA / "bench-small-sample.csv")])
    assert r.returncode == 0, r.stderr
    with Store(store, readonly=True) as s:
        assert s.sessions()[0].samples == 624


def test_an_imported_unit_never_redefines_a_channel_and_live_exports_show_v(cli: Cli, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    hostile = tmp_path / "hostile.csv"
    hostile.write_text('Time,"battery.voltage.labjack {unit=""=cmd|\' /C calc\'!A0""}"\n1622238915000,12.5\n')
    r = cli(["--store", str(store), "import", str(hostile)])
    assert r.returncode == 1
    assert r.stderr.startswith("benchgui: line 1: column 2 ")
    assert "must be 'V'" in r.stderr
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nx = { channel = "battery.voltage.labjack", unit = "=1+1" }\n')
    r = cli(["--store", str(store), "import", str(hostile), "--mapping", str(mapping)])
    assert r.returncode == 2
    assert 'columns."x".unit' in r.stderr
    milli = tmp_path / "mv.csv"
    milli.write_text('Time,"battery.voltage.labjack {unit=""mV""}"\n1622238915000,12500\n')
    assert cli(["--store", str(store), "import", str(milli)]).returncode == 0
    rows = list(csv.reader(io.StringIO(cli(["--store", str(store), "export", "latest"]).stdout)))
    assert rows[1][2:5] == ["battery.voltage.labjack", "V", "12.5"]
    live = run_cli(
        ["--store", str(store), "record", "--headless", "--demo", "--duration", "2", "--speed", "5"],
        timeout=120,
    )
    assert live.returncode == 0, live.stderr
    rows = list(csv.reader(io.StringIO(cli(["--store", str(store), "export", "latest"]).stdout)))
    units = {row[2]: row[3] for row in rows[1:]}
    assert units["battery.voltage.labjack"] == "V"
    lp = cli(["--store", str(store), "export", "latest", "--format", "lineprotocol"]).stdout
    assert "source=labjack" in lp
    assert "voltage_v=" in lp
    assert "cmd" not in lp


def test_csv_export_cells_never_start_a_formula_numbers_stay_numbers(cli: Cli, tmp_path: Path) -> None:
    """A store poisoned by an older version (unit and channel as a formula) exports harmlessly."""
    store = tmp_path / "s.sqlite3"
    with Store(store) as s:
        sid = s.create_session(10**18, SessionMeta(kind="import"), {})
        ch = Channel("battery.voltage.labjack", "=cmd|' /C calc'!A0", "labjack", "battery.voltage")
        odd = Channel("@sum.x", "+1", "x", "@sum")
        s.insert_samples(
            sid, [(s.channel_key(ch), 10**18, -1.5, 0), (s.channel_key(odd), 10**18 + 1, 2.0, 0)]
        )
    out = tmp_path / "e.csv"
    r = cli(["--store", str(store), "export", sid, "--output", str(out)])
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[1][2:5] == ["battery.voltage.labjack", "'=cmd|' /C calc'!A0", "-1.5"]
    assert rows[2][2:5] == ["'@sum.x", "'+1", "2.0"]
    assert rows[1][0] == "1000000000000000000"
