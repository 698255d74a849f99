"""``benchgui run-program --headless``: the JSON last line, exit codes, signals (real processes)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from benchgui.core.programs.loader import examples_dir, list_examples
from benchgui.recording.store import Store
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


def unpaced(config: str) -> str:
    """``config`` with the simulators answering at once. These tests are about program semantics,
    not timing: at --speed 50…1000 a paced line (an EA poll is ~40 ms of real time) leaves one
    instrument's readings tens of bench seconds older than another's, and the supervisor's
    sensor cross-check ends the run as a disagreement (see README, *The simulated bench*)."""
    if "[simulation]\n" in config:
        return config.replace("[simulation]\n", "[simulation]\npacing = false\n", 1)
    return "[simulation]\npacing = false\n" + config


def test_the_programs_condition_ends_the_step_not_the_supervisor(tmp_path: Path) -> None:
    """Issue 21: the program's "until V < cut-off" and the supervisor's cut-off were the same
    threshold and the supervisor won (the rest step never ran). With no supervisor debounce at
    all, only the margin below the program's threshold lets the program act first."""
    cfg = write(
        tmp_path,
        "cfg.toml",
        unpaced(
            "[simulation]\ncapacity_ah = 2.0\ninitial_soc_pct = 2.0\nsun = false\n"
            "[safety]\ncutoff_debounce_s = 0\n"
        ),
    )
    program = examples_dir() / "discharge-5A-to-cutoff.toml"
    args = ["run-program", str(program), "--headless", "--demo", "--speed", "50", "--config", str(cfg)]
    proc = run_cli(args, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["trip"] is None, out["trip"]
    assert out["end_reason"] == "completed"
    assert [(s["label"], s["end"]) for s in out["steps"]] == [
        ("5 A to cut-off", "voltage"),
        ("recovery", "duration"),
    ]
    assert out["steps"][0]["v_end"] < 10.5
    assert out["steps"][0]["v_end"] > 10.3  # the supervisor judged 0.2 V below the program


# every example program on the simulated bench in the sun (the charger interlock switches
# charging off for all of them: each has a voltage end condition): bench, --speed, and the
# (kind, end) of every step the program runs, in order
EXAMPLES = {
    "discharge-5A-to-cutoff.toml": (
        "[simulation]\ncapacity_ah = 2.0\ninitial_soc_pct = 2.0\n",
        "50",
        [("cc", "voltage"), ("rest", "duration")],
    ),
    "pulse-dcir.toml": ("", "100", [("cc", "duration"), ("pulse", "duration")]),
    # 30 W slices: 2 Ah are reached in the third slice (the loop's condition ends it)
    "capacity-cp-loop.toml": (
        "",
        "500",
        [("cp", "duration"), ("rest", "duration"), ("cp", "duration"), ("rest", "duration"), ("cp", "ah")],
    ),
    # one-second setpoints: where a command takes longer than a second of bench time the profile
    # stretches (the machine's speed × --speed); a large battery keeps every step's end the same
    # however long it stretches
    "drive-cycle.toml": (
        "[simulation]\ncapacity_ah = 100.0\n",
        "500",
        [("profile", "duration"), ("rest", "duration")] * 4,
    ),
    # the demo bench's program leaves the charger on (charger = "allow")
    "demo-day.toml": (
        "",
        "100",
        [("pulse", "duration"), ("cc", "duration"), ("rest", "duration"), ("cp", "duration")] * 2,
    ),
}


def test_every_shipped_example_is_tested() -> None:
    assert sorted(p.name for p in list_examples()) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_programs_run_to_their_last_step(tmp_path: Path, name: str) -> None:
    bench, speed, expected = EXAMPLES[name]
    cfg = write(tmp_path, "cfg.toml", unpaced(bench))
    store = tmp_path / "s.sqlite3"
    path = examples_dir() / name
    if name == "drive-cycle.toml":
        # its 3,900 load commands take minutes of real time on a busy machine: the same program
        # with every profile played once (780 commands), the CSV beside it
        text = path.read_text()
        assert "repeat = 5" in text
        (tmp_path / "drive-cycle-ece15.csv").write_text((path.parent / "drive-cycle-ece15.csv").read_text())
        path = write(tmp_path, name, text.replace("repeat = 5", "repeat = 1"))
    args = ["run-program", str(path), "--demo", "--speed", speed, "--config", str(cfg)]
    proc = run_cli([*args, "--store", str(store)], timeout=80)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["end_reason"] == "completed", (out["end_reason"], out["trip"])
    assert out["trip"] is None
    assert [(s["kind"], s["end"]) for s in out["steps"]] == expected
    assert out["load_input_on"] is False
    # the result says which current it counted and that the charger was off
    assert out["current_channel"] == "battery.current.labjack"
    if name == "demo-day.toml":
        assert (out["charger"], out["charger_off"]) == ("allow", False)
        return
    assert (out["charger"], out["charger_off"]) == ("off", True)
    if name == "pulse-dcir.toml":
        assert out["steps"][1]["pulses"] == 10
        assert out["steps"][1]["dcir_ohm"] > 0
    if name == "discharge-5A-to-cutoff.toml":  # issue 21: in the sun it ended on the Ah limit
        assert out["capacity_ah"] == pytest.approx(out["steps"][0]["ah"], rel=0.01)
    with Store(store, readonly=True) as st:
        texts = [e.text for e in st.events(out["session"], "program.charger")]
    assert texts == ["charging switched off for the program", "charging switched back on"]


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
