"""Stored text reaches the terminal escaped (issue 22: `sessions list` printed battery ids raw)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgui.cli import main
from benchgui.cli._common import printable

Cli = Callable[..., subprocess.CompletedProcess[str]]
HOSTILE = "AGM\x1b]0;owned\x07\x1b[2J\u202eevil\r\nrm -rf ~\x9b"


def test_sessions_list_escapes_a_hostile_battery_id(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("Time,battery.voltage.labjack\n1622238915000,12.9\n1622238916000,12.8\n")
    store = str(tmp_path / "s.sqlite3")
    r = cli(["import", str(f), "--store", store, "--battery-id", HOSTILE, "--notes", HOSTILE])
    assert r.returncode == 0, r.stderr
    table = cli(["sessions", "list", "--store", store])
    assert table.returncode == 0
    assert not any(c in table.stdout for c in "\x1b\x07\r\u202e\x9b")
    (row,) = table.stdout.splitlines()[1:]  # one session: one line, the newline escaped too
    assert row.endswith(r"AGM\x1b]0;owned\x07\x1b[2J\u202eevil\r\nrm -rf ~\x9b")
    listed = cli(["sessions", "list", "--store", store, "--json"])
    assert "\x1b" not in listed.stdout
    assert json.loads(listed.stdout)[0]["battery_id"] == HOSTILE  # nothing lost in the JSON


def test_printable_escapes_controls_and_keeps_text() -> None:
    assert printable("Blei-Säure 12 V · 7,2 Ah") == "Blei-Säure 12 V · 7,2 Ah"
    assert printable("a\tb\x00c\x7f\u2028\ufeff") == r"a\tb\x00c\x7f\u2028\ufeff"
    assert printable(42) == "42"


def test_arguments_that_are_not_utf8_are_one_usage_error(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Found by `make fuzz` (cli.arguments): `export $'\\x8d'` ended in a traceback in SQLite."""
    store = str(tmp_path / "s.sqlite3")
    f = tmp_path / "x.csv"
    f.write_text("Time,battery.voltage.labjack\n1622238915000,12.9\n")
    assert cli(["import", str(f), "--store", store]).returncode == 0
    not_utf8 = b"AGM\x8d".decode("utf-8", "surrogateescape")  # what Python makes of such argv bytes
    for argv in (["export", not_utf8], ["verify", not_utf8], ["import", str(f), "--battery-id", not_utf8]):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:  # argparse's usage error
            main([*argv, "--store", store])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.splitlines()[-1].endswith(": not valid UTF-8 text")
        assert "Traceback" not in err


def test_a_folder_of_time_zones_is_not_a_zone(cli: Cli, tmp_path: Path) -> None:
    """Found by `make fuzz`: `import --timezone Europe` ended in IsADirectoryError."""
    f = tmp_path / "x.csv"
    f.write_text("Time,battery.voltage.labjack\n2021-05-28 23:55:15,12.9\n")
    r = cli(["import", str(f), "--timezone", "Europe", "--dry-run", "--store", str(tmp_path / "s.sqlite3")])
    assert r.returncode == 2
    assert "unknown time zone 'Europe'" in r.stderr
