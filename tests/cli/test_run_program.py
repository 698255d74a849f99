"""``benchgui run-program --headless``: the JSON last line, exit codes, signals (real processes)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from benchgui.core.programs.loader import examples_dir
from tests.helpers import run_cli, spawn_cli

pytestmark = pytest.mark.timeout(90)

SMALL_EMPTY = """
[simulation]
capacity_ah = 2.0
initial_soc_pct = 2.0
sun = false
# capacity accounting is tested here, not timing: at --speed 200 a paced EA line (a poll is
# ~40 ms of real time) leaves the load's readings ~8 bench seconds old, and the supervisor's
# sensor cross-check ends the run as a disagreement with the LabJack
pacing = false

[safety]
# the program's own cut-off condition (0.5 s debounce) ends the step; a long supervisor
# debounce keeps it from racing the program at --speed 200
cutoff_debounce_s = 60
"""


def last_json(stdout: str) -> dict:  # type: ignore[type-arg]
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert lines, "no output"
    return json.loads(lines[-1])


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_discharge_to_cutoff_completes_with_the_capacity(tmp_path: Path) -> None:
    cfg = write(tmp_path, "cfg.toml", SMALL_EMPTY)
    program = examples_dir() / "discharge-5A-to-cutoff.toml"
    args = ["run-program", str(program), "--headless", "--demo", "--speed", "200", "--config", str(cfg)]
    proc = run_cli(args, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["end_reason"] == "completed"
    assert out["load_input_on"] is False
    assert out["steps"][0]["end"] == "voltage"
    assert out["capacity_ah"] == pytest.approx(out["steps"][0]["ah"], rel=0.01)
    assert out["ah"] > 0.02
    assert out["wh"] == pytest.approx(out["ah"] * 11, rel=0.15)
    assert out["duration_s"] > 600  # the 10 min rest ran too
    assert "step 1 5 A to cut-off: voltage" in proc.stdout


def test_a_trip_ends_the_run_and_exits_0(tmp_path: Path) -> None:
    cfg = write(tmp_path, "cfg.toml", "[simulation]\nsun = false\n[safety]\nmax_discharge_time_s = 20\n")
    prog = write(tmp_path, "long.toml", "[[step]]\nkind = 'cc'\ncurrent_a = 3\nduration_s = 3600\n")
    # the instruments deliver at a rate bounded in real time: at a high --speed a busy machine
    # gets few current samples into the 20 bench seconds, and the Ah integrated over them drifts
    proc = run_cli(["run-program", str(prog), "--demo", "--speed", "10", "--config", str(cfg)], timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["end_reason"] == "time_limit"
    assert out["load_input_on"] is False
    assert out["trip"]["reason"] == "time_limit"
    assert 20 <= out["duration_s"] <= 25
    assert out["ah"] == pytest.approx(3 * 0.96 * 20 / 3600, rel=0.15)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_program_switches_off(tmp_path: Path, sig: signal.Signals) -> None:
    cfg = write(tmp_path, "cfg.toml", "[simulation]\nsun = false\n")
    prog = write(tmp_path, "long.toml", "[[step]]\nkind = 'cc'\ncurrent_a = 2\nduration_s = 36000\n")
    proc = spawn_cli(["run-program", str(prog), "--headless", "--demo", "--config", str(cfg)])
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once the program runs (the load is on)
        assert first.startswith("program "), first
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    out = last_json(stdout)
    assert out["end_reason"] == "signal"
    assert out["load_input_on"] is False
    assert out["trip"]["values"]["signal"] == sig.name


def test_a_bad_program_is_a_usage_error(tmp_path: Path) -> None:
    prog = write(tmp_path, "bad.toml", "[[step]]\nkind = 'cc'\ncurrent_a = 'five'\nduration_s = 5\n")
    proc = run_cli(["run-program", str(prog), "--demo"], timeout=30)
    assert proc.returncode == 2
    assert "step[0].current_a: must be a number" in proc.stderr
    assert str(prog) in proc.stderr


def test_a_program_the_bench_cannot_run_reports_error_json(tmp_path: Path) -> None:
    cfg = write(tmp_path, "cfg.toml", "[safety]\nmax_current_a = 4\n")
    prog = write(tmp_path, "big.toml", "[[step]]\nkind = 'cc'\ncurrent_a = 5\nduration_s = 5\n")
    proc = run_cli(["run-program", str(prog), "--demo", "--config", str(cfg)], timeout=30)
    assert proc.returncode == 2
    assert "step[0].current_a: 5 A exceeds [safety] max_current_a (4 A)" in proc.stderr
    out = last_json(proc.stdout)
    assert out["end_reason"] == "error"
    assert out["load_input_on"] is False
