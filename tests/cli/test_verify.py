"""``benchgui verify SESSION --output report.html --json stats.json`` as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchgui.cli import main
from tests.helpers import run_cli
from tests.verify import synth


def test_report_and_json_from_a_stored_session(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    sid = synth.store_session(
        store, synth.session(seed=31, ref_period_s=0.5, v_load=synth.Sensor(offset=0.01, period_s=0.5))
    )
    out = run_cli(
        [
            "verify",
            sid[:12],
            "--store",
            str(store),
            "--output",
            str(tmp_path / "report.html"),
            "--json",
            str(tmp_path / "stats.json"),
        ]
    )
    assert out.returncode == 0, out.stderr
    assert f"session {sid}" in out.stdout
    assert "battery.current.mppt" in out.stdout
    stats = json.loads((tmp_path / "stats.json").read_text())
    gain = stats["battery.current"]["mppt"]["gain"]
    assert abs(gain - 1.03) < 0.002
    # the printed table shows the same numbers as the JSON
    assert f"{(gain - 1) * 100:.3f}" in out.stdout
    html = (tmp_path / "report.html").read_text()
    assert sid in html
    assert html.count("<svg") == 12


def test_the_verify_command_imports_no_qt(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    synth.store_session(store, synth.session(seed=32, ref_period_s=0.5))
    code = (
        "import sys; from benchgui.cli import main; "
        f"rc = main(['verify', 'latest', '--store', {str(store)!r}, "
        f"'--output', {str(tmp_path / 'r.html')!r}, '-q']); "
        "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules), 'Qt imported'; "
        "sys.exit(rc)"
    )
    import subprocess

    from tests.helpers import ROOT, cli_env

    env = cli_env()
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.html").exists()


def test_strict_fails_on_a_failed_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite3"
    synth.store_session(store, synth.session(seed=33, ref_period_s=0.5))  # 3 % gain error > 2 % tolerance
    assert main(["verify", "latest", "--store", str(store), "-q"]) == 0
    assert main(["verify", "latest", "--store", str(store), "--strict"]) == 1
    assert "verdict FAIL" in capsys.readouterr().out


def test_tolerances_come_from_the_config(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    synth.store_session(store, synth.session(seed=34, ref_period_s=0.5))
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[verify]\ncomparisons = ["battery.current.mppt vs battery.current.labjack"]\n'
        "[verify.tolerance.current]\ngain_error_pct = 5.0\n"
    )
    args = ["verify", "latest", "--store", str(store), "--config", str(cfg), "--strict", "-q"]
    assert main([*args, "--json", str(tmp_path / "s.json")]) == 0
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["verdict"] == "pass"
    assert list(stats["battery.current"]) == ["mppt"]


def test_unknown_session_and_bad_config_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.sqlite3"
    synth.store_session(store, synth.session(seed=35, ref_period_s=0.5))
    assert main(["verify", "nosuch", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "nosuch" in err
    assert main(["verify", "latest", "--store", str(tmp_path / "none.sqlite3")]) == 1
    assert "no session store" in capsys.readouterr().err
    cfg = tmp_path / "c.toml"
    cfg.write_text('[verify]\ncomparisons = ["battery.current.mppt and battery.current.labjack"]\n')
    assert main(["verify", "latest", "--store", str(store), "--config", str(cfg)]) == 2
    assert "verify.comparisons[0]" in capsys.readouterr().err
