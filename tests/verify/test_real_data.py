"""The shared real bench recordings: imported, verified, reported without errors.

Uses ``benchgui import`` when this build has it (the recording feature), else the test-only
loader in :mod:`tests.verify.grafana`. The numbers checked are the ones the README quotes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchgui.cli import build_parser
from tests.helpers import ROOT, run_cli
from tests.verify import grafana

_CANDIDATES = [
    Path(p)
    for p in (
        os.environ.get("BENCHGUI_SHARED_DATA", ""),
        ROOT.parent / "shared" / "data",
        ROOT.parent.parent / "shared" / "data",
    )
    if p
]
DATA = next((p for p in _CANDIDATES if p.is_dir()), Path("shared-data-not-found"))
FILES = sorted(DATA.glob("*.csv")) if DATA.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason="shared bench recordings not present")


def has_import_command() -> bool:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return "import" in sub.choices  # type: ignore[operator]


def import_session(csv_path: Path, store: Path) -> str:
    if has_import_command():
        out = run_cli(["import", str(csv_path), "--store", str(store)], timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]
    return grafana.load(csv_path, store)


@pytest.mark.slow
@pytest.mark.parametrize("csv_path", FILES, ids=[f.name for f in FILES])
def test_every_shared_recording_gives_a_report(csv_path: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    sid = import_session(csv_path, store)
    html, js = tmp_path / "report.html", tmp_path / "stats.json"
    out = run_cli(
        ["verify", sid, "--store", str(store), "--output", str(html), "--json", str(js)], timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    stats = json.loads(js.read_text())
    assert stats["session"]["id"] == sid
    assert stats["battery.current"]["mppt"]["n"] > 50
    assert "<svg" in html.read_text()
    if csv_path.name == "bench-2021-05-28-grafana-epoch-ms.csv":
        check_readme_numbers(stats)


def check_readme_numbers(s: dict) -> None:  # type: ignore[type-arg]
    """The numbers the README quotes for the full-precision export."""
    cur = s["battery.current"]["mppt"]
    assert 2.5 < cur["gain_error_pct"] < 3.7  # the MPPT reads ~3 % high overall
    assert 0.005 < cur["offset"] < 0.025  # and ~+14 mA at rest
    at3 = cur["bins"]["-5…-2 A"]
    assert at3["mean_reference"] == pytest.approx(-2.88, abs=0.01)  # LabJack at "−3 A"
    assert at3["mean_device"] == pytest.approx(-3.00, abs=0.01)  # MPPT
    assert 4.0 < at3["point_gain_error_pct"] < 5.5
    v = s["battery.voltage"]["mppt-vs-load"]
    assert -0.06 < v["offset"] < -0.03  # MPPT below the load by tens of mV at rest
    assert v["offset_method"] == "rest"
