"""Stored text reaches the terminal escaped (issue 22: `sessions list` printed battery ids raw)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

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
